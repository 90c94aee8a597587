"""`Supervisor`: restart the components that exit on their own, as compose's `restart: unless-stopped`."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from devstack.errors import DevstackError
from devstack.stack import Stack


@dataclass(frozen=True)
class Backoff:
    """Waits before restart attempts: `first` seconds, doubling up to `cap`; back to `first` for a
    component that stayed up `stable` seconds before it exited."""

    first: float = 1.0
    cap: float = 30.0
    stable: float = 10.0

    def delay(self, attempts: int) -> float:
        """The wait before the next attempt, after `attempts` restarts in a row."""
        return min(self.cap, self.first * 2**attempts)


def describe_exit(code: int | None) -> str:
    """'code 1', or 'code -9 (SIGKILL)' for a process ended by a signal."""
    if code is not None and code < 0:
        try:
            return f"code {code} ({signal.Signals(-code).name})"
        except ValueError:
            pass
    return f"code {code}"


@dataclass(frozen=True)
class Exited:
    """A component exited on its own; its restart is due in `retry_in` seconds."""

    name: str
    code: int | None
    log_path: Path
    retry_in: float

    def __str__(self) -> str:
        return (
            f"EXITED with {describe_exit(self.code)}; restarting in {self.retry_in:g}s; "
            f"log {self.log_path}"
        )


@dataclass(frozen=True)
class Restarted:
    """A component is running and ready again, `down_for` seconds after its exit was noticed."""

    name: str
    ready_in: float
    down_for: float
    url: str
    pid: int | None

    def __str__(self) -> str:
        return (
            f"RESTARTED: ready in {self.ready_in:.1f}s, back {self.down_for:.1f}s after it exited  "
            f"{self.url}  pid {self.pid}"
        )


@dataclass(frozen=True)
class RestartFailed:
    """A restart attempt failed; the next one is due in `retry_in` seconds."""

    name: str
    reason: str
    retry_in: float

    def __str__(self) -> str:
        return f"RESTART FAILED: {self.reason}; next attempt in {self.retry_in:g}s"


Event = Exited | Restarted | RestartFailed


@dataclass
class _Down:
    since: float
    due: float


class Supervisor:
    """Restarts the components of `stack` that exit on their own, on the same ports, with backoff.

    A component stopped through Stack.stop, kill or close is left alone. Restarts run one at a
    time, in the thread that calls `check` or `run`; `report` gets an event for each exit, each
    restart and each failed attempt.
    """

    def __init__(
        self,
        stack: Stack,
        *,
        report: Callable[[Event], None] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.stack = stack
        self.backoff = backoff or Backoff()
        self._report = report or (lambda event: None)
        self._up_since: dict[str, float] = {}
        self._attempts: dict[str, int] = {}
        self._down: dict[str, _Down] = {}

    def check(self) -> None:
        """One pass: note the components that exited since the last pass, make the restarts now due."""
        exited = self.stack.exited()
        now = time.monotonic()
        for name in self.stack.components:
            if self.stack.pid(name) is not None:
                self._up_since.setdefault(name, now)
            elif name not in exited:
                self._up_since.pop(name, None)
        for name, code in exited.items():
            if name not in self._down:
                self._note_exit(name, code, now)
        for name in list(self._down):
            if name not in exited:  # stopped on purpose, or started again by other code
                del self._down[name]
            elif self._down[name].due <= time.monotonic():
                self._restart(name)

    def run(self, interval: float = 0.5) -> NoReturn:
        """Check every `interval` seconds until an exception (Ctrl-C, SIGTERM handler) ends it."""
        while True:
            self.check()
            time.sleep(interval)

    def _note_exit(self, name: str, code: int | None, now: float) -> None:
        up_for = now - self._up_since.pop(name, now)
        if up_for >= self.backoff.stable:
            self._attempts[name] = 0
        delay = self.backoff.delay(self._attempts.get(name, 0))
        self._down[name] = _Down(since=now, due=now + delay)
        self._report(Exited(name, code, self.stack.log_path(name), delay))

    def _restart(self, name: str) -> None:
        down = self._down[name]
        self._attempts[name] = self._attempts.get(name, 0) + 1
        try:
            ready_in = self.stack.start(name)
        except (DevstackError, OSError) as exc:
            delay = self.backoff.delay(self._attempts[name])
            down.due = time.monotonic() + delay
            # The first line names the cause and the log; the log tail after it would repeat each attempt.
            self._report(RestartFailed(name, str(exc).partition("\n")[0].rstrip(":"), delay))
            return
        now = time.monotonic()
        del self._down[name]
        self._up_since[name] = now
        self._report(Restarted(name, ready_in, now - down.since, self.stack.url(name), self.stack.pid(name)))
