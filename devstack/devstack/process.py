"""One managed child process: own process group, log file, readiness wait, stop and kill."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from devstack.errors import StartError
from devstack.readiness import Check


def log_tail(path: Path, lines: int = 40) -> str:
    """Last `lines` lines of a log file ('' when it does not exist)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 16384))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class ManagedProcess:
    """A server process started in its own process group, writing to its own log file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        log_path: Path,
        ready: Check,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = [str(arg) for arg in argv]
        self.env = dict(env)
        self.log_path = log_path
        self.ready = ready
        self.cwd = cwd
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """Pid of the current child (it is also its process group id), None before start."""
        return self._popen.pid if self._popen else None

    def is_running(self) -> bool:
        """True while the child process has not exited."""
        return self._popen is not None and self._popen.poll() is None

    def exit_code(self) -> int | None:
        """Exit code of the last child if it has exited, else None."""
        return self._popen.poll() if self._popen else None

    def start(self) -> None:
        """Launch the child in a new session (so its own process group), output to the log."""
        if self.is_running():
            raise StartError(f"{self.name} is already running (pid {self.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            log.write(f"--- devstack {stamp}: {' '.join(self.argv)}\n".encode())
            log.flush()
            try:
                self._popen = subprocess.Popen(
                    self.argv,
                    env=self.env,
                    cwd=self.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as exc:
                raise StartError(f"{self.name}: cannot execute {self.argv[0]}: {exc}") from exc

    def wait_ready(self, timeout: float) -> float:
        """Poll the readiness check until it passes; returns seconds waited or raises StartError."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            if not self.is_running():
                raise StartError(
                    f"{self.name} exited with code {self.exit_code()} before it was ready "
                    f"({self.ready}); log {self.log_path}:\n{log_tail(self.log_path)}"
                )
            if self.ready():
                return time.monotonic() - started
            if time.monotonic() > deadline:
                raise StartError(
                    f"{self.name} not ready after {timeout:.0f}s ({self.ready}); "
                    f"log {self.log_path}:\n{log_tail(self.log_path)}"
                )
            time.sleep(0.05)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the process group, SIGKILL it if still alive after `grace` seconds."""
        if self._popen is None:
            return
        if self._popen.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self._popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self._popen.wait()
        # Anything the child left behind in its group goes too.
        self._signal_group(signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the whole process group at once (crash simulation for fault tests)."""
        if self._popen is None or self._popen.returncode is not None:
            return
        self._signal_group(signal.SIGKILL)
        self._popen.wait()

    def _signal_group(self, signum: int) -> None:
        """Send `signum` to the child's process group, ignoring an already-empty group."""
        assert self._popen is not None
        try:
            os.killpg(self._popen.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass
