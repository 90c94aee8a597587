"""`Stack`: start, address, restart and stop the components of the suite as local processes."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Literal

from devstack.catalogue import CATALOGUE, Component, start_order
from devstack.errors import DevstackError, PortInUseError
from devstack.ports import HOST, allocate, is_free
from devstack.process import ManagedProcess

log = logging.getLogger("devstack")
_PICKS = 3  # a component whose picked ports were taken before it started gets new ones, this many times


class Stack:
    """A set of running components on known ports, with their data and logs under `run_dir`.

    ports=None picks free ports for everything (tests), "default" the fixed ports of
    `make run`/`make demo`, a dict fixes some ports (keys as in `port()`) and frees the rest.
    components=None starts the whole suite (the sandbox only when offline).
    """

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        *,
        offline: bool = True,
        ports: Literal["default"] | Mapping[str, int] | None = None,
        components: Iterable[str] | None = None,
        log_level: str | None = None,
        host: str = HOST,
        catalogue: Iterable[Component] = CATALOGUE,
    ) -> None:
        self.run_dir = Path(run_dir).resolve()
        self.offline = offline
        self.host = host
        self.log_level = log_level or os.environ.get("LOG_LEVEL", "INFO")
        self._catalogue = {c.name: c for c in catalogue}
        if components is None:
            selected = [c for c in self._catalogue.values() if offline or not c.offline_only]
        else:
            selected = [self._component(name) for name in components]
        self.components: list[str] = [c.name for c in start_order(selected)]
        self._ports = self._resolve_ports(ports)
        self._given = set(self._ports) if ports == "default" else set(ports or ())  # never picked anew
        self._procs: dict[str, ManagedProcess] = {}
        self._started: list[str] = []
        self._stopped: set[str] = set()

    def __enter__(self) -> Stack:
        self.start_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def port(self, key: str) -> int:
        """Port of `key`: a component name (its base port) or e.g. traefik_ping, nats_monitor."""
        try:
            return self._ports[key]
        except KeyError:
            raise DevstackError(f"no port {key!r}; known: {sorted(self._ports)}") from None

    def url(self, name: str) -> str:
        """URL of a component (http://, redis://, nats:// or mongodb:// host:port)."""
        component = self._catalogue.get(name)
        scheme = component.scheme if component else "http"
        return f"{scheme}://{self.host}:{self.port(name)}"

    def data_dir(self, name: str) -> Path:
        """The folder under run_dir for a component's data (created on demand)."""
        path = self.run_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def log_path(self, name: str) -> Path:
        """The log file of a component (every start appends to it)."""
        return self.run_dir / "logs" / f"{name}.log"

    def env_for(self, name: str) -> dict[str, str]:
        """The full environment a component's process gets."""
        component = self._component(name)
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        if component.service:
            env.update(
                REDIS_URL=self.url("redis"),
                NATS_URL=self.url("nats"),
                MONGO_URL=self.url("mongo"),
                LOG_LEVEL=self.log_level,
            )
        env.update(component.env(self))
        return env

    def pid(self, name: str) -> int | None:
        """Pid (= process group id) of a running component, else None."""
        proc = self._procs.get(name)
        return proc.pid if proc and proc.is_running() else None

    def exited(self) -> dict[str, int | None]:
        """Components that died on their own (not via stop/kill), with their exit codes."""
        return {
            name: proc.exit_code()
            for name, proc in self._procs.items()
            if name not in self._stopped and not proc.is_running()
        }

    def start_all(self) -> None:
        """Start every selected component in order; on any failure stop what was started."""
        try:
            for name in self.components:
                self.start(name)
        except BaseException:
            self.close()
            raise

    def start(self, name: str) -> float:
        """Start (or restart, on the same ports) a component and wait until it is ready.

        Returns the seconds it took to become ready; a no-op returning 0 if it already runs.
        A start that fails leaves the component counted in `exited()`, so it can be retried.
        """
        component = self._component(name)
        if self.pid(name) is not None:
            return 0.0
        self._ports_for(component)
        component.prepare(self)
        proc = ManagedProcess(
            name,
            component.command(self),
            env=self.env_for(name),
            log_path=self.log_path(name),
            ready=component.ready(self),
            cwd=self.data_dir(name),
        )
        if not self._started:
            atexit.register(self._kill_all)
        self._procs[name] = proc
        self._stopped.discard(name)
        if name not in self._started:
            self._started.append(name)
        proc.start()
        try:
            return proc.wait_ready(component.start_timeout)
        except BaseException:
            proc.stop(grace=2.0)
            raise

    def stop(self, name: str, grace: float = 5.0) -> None:
        """Stop a component: SIGTERM its process group, SIGKILL after `grace` seconds."""
        self._component(name)
        self._stopped.add(name)
        if name in self._procs:
            self._procs[name].stop(grace)

    def kill(self, name: str) -> None:
        """SIGKILL a component's process group (crash simulation); `start` brings it back."""
        self._component(name)
        self._stopped.add(name)
        if name in self._procs:
            self._procs[name].kill()

    def close(self) -> None:
        """Stop every started component, last started first; never leaves a child behind."""
        error: BaseException | None = None
        for name in reversed(self._started):
            try:
                self.stop(name)
            except BaseException as exc:  # e.g. a second Ctrl-C: still reap the rest
                error = error or exc
        self._kill_all()
        atexit.unregister(self._kill_all)
        if error is not None:
            raise error

    def _kill_all(self) -> None:
        for proc in self._procs.values():
            proc.kill()

    def _component(self, name: str) -> Component:
        try:
            return self._catalogue[name]
        except KeyError:
            raise DevstackError(
                f"unknown component {name!r}; known: {list(self._catalogue)}"
            ) from None

    def _ports_for(self, component: Component) -> None:
        """Check a component's ports are free before its first start. Ports picked free when the stack was
        made can be taken by another process before the component starts (a whole suite takes seconds to
        start): such a component gets newly picked ports. Given ports, and the ports of a restart, stay."""
        for attempt in range(_PICKS + 1):
            try:
                self._check_ports_free(component)
                return
            except PortInUseError as exc:
                keys = list(component.ports)
                if attempt == _PICKS or component.name in self._started or self._given & set(keys):
                    raise
                log.warning("%s; %s gets other ports", exc, component.name)
                self._ports.update(allocate({k: component.ports[k].size() for k in keys}, self.host))

    def _resolve_ports(
        self, ports: Literal["default"] | Mapping[str, int] | None
    ) -> dict[str, int]:
        specs = {key: spec for c in self._catalogue.values() for key, spec in c.ports.items()}
        if ports == "default":
            return {key: spec.default for key, spec in specs.items()}
        given = dict(ports or {})
        unknown = set(given) - set(specs)
        if unknown:
            raise DevstackError(f"unknown port keys {sorted(unknown)}; known: {sorted(specs)}")
        free = allocate({k: spec.size() for k, spec in specs.items() if k not in given}, self.host)
        return {**free, **given}

    def _check_ports_free(self, component: Component) -> None:
        for key, spec in component.ports.items():
            base = self.port(key)
            for port in range(base, base + spec.size()):
                if not is_free(port, self.host):
                    raise PortInUseError(
                        f"{component.name}: port {port} ({key}) on {self.host} is already in use "
                        f"by another process{_holders(port)}; stop it or choose other ports"
                    )


def _holders(port: int) -> str:
    """What `ss` says holds a local port (" (...)"), or "" when it cannot tell."""
    if shutil.which("ss") is None:
        return ""
    try:
        out = subprocess.run(["ss", "-Htanp", f"sport = :{port}"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    lines = [" ".join(line.split()) for line in out.splitlines() if line.strip()]
    return f" ({'; '.join(lines[:3])})" if lines else ""
