"""The local runner restarts what dies on its own, as compose's `restart: unless-stopped` does, and
leaves alone what was stopped on purpose."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import nats
import pytest
import redis

from devstack import Backoff, Stack, Supervisor
from devstack.catalogue import REDIS
from devstack.supervisor import Event, Exited, Restarted, RestartFailed

from helpers import gone

REPO = Path(__file__).resolve().parents[1]
RESTART_BOUND = 15.0

# "  redis    ready in 0.1s  redis://127.0.0.1:40123  pid 4242", and the same after RESTARTED.
ADDRESS = r"(?P<url>\w+://127\.0\.0\.1:(?P<port>\d+))  pid (?P<pid>\d+)$"


class Runner:
    """`python -m devstack demo` started as `make demo` does, its output read line by line."""

    def __init__(self, run_dir: Path, components: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devstack", "demo", "--free-ports",
             "--components", ",".join(components), "--run-dir", str(run_dir)],
            cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.output: list[str] = []
        self.pids: set[int] = set()
        self._ended = False
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def expect(self, patterns: dict[str, str], timeout: float) -> dict[str, re.Match[str]]:
        """Read output until each pattern has matched a line (in any order); fail after `timeout`."""
        found: dict[str, re.Match[str]] = {}
        deadline = time.monotonic() + timeout
        while len(found) < len(patterns):
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                missing = sorted(set(patterns) - set(found))
                pytest.fail(f"runner printed no line for {missing} within {timeout}s:\n" + "\n".join(self.output))
            self.output.append(line)
            for key, pattern in patterns.items():
                match = re.search(pattern, line)
                if key not in found and match:
                    found[key] = match
                    if "pid" in pattern:
                        self.pids.add(int(match["pid"]))
        return found

    def stop(self) -> list[str]:
        """SIGTERM the runner (as a service manager would) and return what it printed from then on."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            for pid in self.pids:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            raise
        rest: list[str] = []
        while not self._ended:
            line = self._lines.get(timeout=5)
            if line is None:
                self._ended = True
            else:
                rest.append(line)
        self._reader.join()
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        self.output += rest
        return rest


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[Runner]:
    runner = Runner(tmp_path, ["redis", "nats"])
    try:
        yield runner
    finally:
        runner.stop()


def _executable(pid: int) -> str:
    return Path(os.readlink(f"/proc/{pid}/exe")).name


def _redis_answers(port: int) -> bool:
    with redis.Redis(port=port, socket_connect_timeout=1, socket_timeout=1) as client:
        return client.ping()


def _nats_has_jetstream(port: int) -> bool:
    async def account_info():
        nc = await nats.connect(f"nats://127.0.0.1:{port}", connect_timeout=2, max_reconnect_attempts=0)
        try:
            return await nc.jetstream().account_info()
        finally:
            await nc.close()

    return asyncio.run(account_info()).limits is not None


def test_runner_restarts_killed_redis_and_nats_on_their_ports(runner: Runner) -> None:
    up = runner.expect({name: rf"^  {name} +ready in .*{ADDRESS}" for name in ("redis", "nats")}, timeout=30)
    assert _executable(int(up["redis"]["pid"])) in ("redis-server", "valkey-server")
    assert _executable(int(up["nats"]["pid"])) == "nats-server"

    for match in up.values():
        os.killpg(int(match["pid"]), signal.SIGKILL)
    killed = time.monotonic()
    events = runner.expect({
        **{f"{name} exited": rf"^  {name} .*EXITED with code -9 \(SIGKILL\); restarting in \d+s; log \S+{name}\.log$"
           for name in up},
        **{name: rf"^  {name} .*RESTARTED: ready in .*{ADDRESS}" for name in up},
    }, timeout=RESTART_BOUND)
    assert time.monotonic() - killed < RESTART_BOUND
    for name, match in up.items():
        assert events[name]["url"] == match["url"] and events[name]["pid"] != match["pid"]
    assert _redis_answers(int(up["redis"]["port"])) is True
    assert _nats_has_jetstream(int(up["nats"]["port"])) is True

    after_stop = runner.stop()
    assert runner.proc.returncode == 0
    assert after_stop == ["SIGTERM: stopping", "devstack: every component stopped"]
    assert [pid for pid in [runner.proc.pid, *runner.pids] if not gone(pid)] == []


FAST = Backoff(first=0.2, cap=0.4, stable=1.0)


def _check_until(supervisor: Supervisor, events: list[Event], done: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"not there after {timeout}s; events: {[str(e) for e in events]}"
        supervisor.check()
        time.sleep(0.02)


def _check_for(supervisor: Supervisor, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        supervisor.check()
        time.sleep(0.02)


def _crash(stack: Stack, name: str) -> None:
    """SIGKILL a component's process group behind the Stack's back, as a crash would."""
    pid = stack.pid(name)
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)


@contextmanager
def _squatting(port: int) -> Iterator[None]:
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        yield


def test_a_component_stopped_on_purpose_is_not_restarted(tmp_path: Path) -> None:
    events: list[Event] = []
    with Stack(tmp_path, components=["redis", "nats"]) as stack:
        supervisor = Supervisor(stack, report=events.append, backoff=FAST)
        supervisor.check()
        stack.kill("redis")
        stack.stop("nats")
        _check_for(supervisor, 3 * FAST.cap)
        assert events == []
        assert stack.pid("redis") is None and stack.pid("nats") is None


def test_a_crashed_component_stopped_before_its_restart_stays_down(tmp_path: Path) -> None:
    events: list[Event] = []
    with Stack(tmp_path, components=["redis"]) as stack:
        supervisor = Supervisor(stack, report=events.append, backoff=FAST)
        supervisor.check()
        _crash(stack, "redis")
        _check_until(supervisor, events, lambda: bool(events))
        stack.stop("redis")
        _check_for(supervisor, 3 * FAST.cap)
        assert [type(event) for event in events] == [Exited]
        assert stack.pid("redis") is None


def test_a_failed_restart_is_reported_and_retried_later(tmp_path: Path) -> None:
    events: list[Event] = []
    with Stack(tmp_path, components=["redis"]) as stack:
        port = stack.port("redis")
        supervisor = Supervisor(stack, report=events.append, backoff=FAST)
        supervisor.check()
        _crash(stack, "redis")
        _check_until(supervisor, events, lambda: bool(events))
        with _squatting(port):
            _check_until(supervisor, events, lambda: len(events) >= 3)
        _check_until(supervisor, events, lambda: isinstance(events[-1], Restarted))
        exited, *failed, restarted = events
        assert isinstance(exited, Exited) and exited.retry_in == FAST.first
        assert failed and all(isinstance(event, RestartFailed) for event in failed)
        assert f"port {port}" in failed[0].reason and "already in use" in failed[0].reason
        # Doubling from `first`, never beyond `cap`.
        assert [event.retry_in for event in failed] == [0.4] * len(failed)
        assert "next attempt in 0.4s" in str(failed[0])
        assert isinstance(restarted, Restarted) and restarted.url == f"redis://127.0.0.1:{port}"
        assert _redis_answers(port) is True


def test_restarts_back_off_in_a_crash_loop_and_start_over_once_stable(tmp_path: Path) -> None:
    events: list[Event] = []
    with Stack(tmp_path, components=["redis"]) as stack:
        supervisor = Supervisor(stack, report=events.append, backoff=FAST)
        supervisor.check()
        for _ in range(2):
            _crash(stack, "redis")
            count = len(events)
            _check_until(supervisor, events, lambda count=count: len(events) == count + 2)
        time.sleep(FAST.stable)
        _crash(stack, "redis")
        _check_until(supervisor, events, lambda: len(events) == 6)
        assert [type(event) for event in events] == [Exited, Restarted] * 3
        assert [event.retry_in for event in events if isinstance(event, Exited)] == [0.2, 0.4, 0.2]


def test_a_restart_that_dies_before_it_is_ready_is_retried(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    exit_3 = [sys.executable, "-c", "raise SystemExit(3)"]
    # Redis whose next starts exit at once with code 3 while `broken` exists.
    flaky_redis = dataclasses.replace(
        REDIS, command=lambda stack: exit_3 if broken.exists() else REDIS.command(stack)
    )
    events: list[Event] = []
    with Stack(tmp_path / "run", components=["redis"], catalogue=[flaky_redis]) as stack:
        supervisor = Supervisor(stack, report=events.append, backoff=FAST)
        supervisor.check()
        broken.touch()
        _crash(stack, "redis")
        _check_until(supervisor, events, lambda: len(events) >= 3)
        broken.unlink()
        _check_until(supervisor, events, lambda: isinstance(events[-1], Restarted))
        exited, *failed, restarted = events
        assert isinstance(exited, Exited) and failed and isinstance(restarted, Restarted)
        assert all(isinstance(event, RestartFailed) for event in failed)
        assert "redis exited with code 3 before it was ready" in failed[0].reason
        assert str(stack.log_path("redis")) in failed[0].reason
        assert _redis_answers(stack.port("redis")) is True
