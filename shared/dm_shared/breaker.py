"""A small circuit breaker per upstream: after repeated failures, calls fail fast for a cool-down."""

import time
from enum import StrEnum

from dm_shared.errors import UpstreamBudgetError, UpstreamError, UpstreamRateLimitedError, UpstreamUnavailableError


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Opens after `threshold` consecutive failures; lets one trial call through after `cooldown` seconds."""

    def __init__(self, name: str, *, threshold: int = 5, cooldown: float = 10.0):
        self.name = name
        self.threshold = threshold
        self.cooldown = cooldown
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if time.monotonic() - self._opened_at >= self.cooldown:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """Whether a call may go out now (one trial at a time while half-open)."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._trial_running:
            self._trial_running = True
            return True
        return False

    def retry_in(self) -> float:
        """Seconds until the breaker lets a trial call through."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self.cooldown - (time.monotonic() - self._opened_at))

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_running = False

    def record_failure(self) -> None:
        self._failures += 1
        self._trial_running = False
        if self._failures >= self.threshold or self._opened_at is not None:
            self._opened_at = time.monotonic()

    def check(self) -> None:
        """Raise UPSTREAM_UNAVAILABLE while the breaker holds calls back."""
        if not self.allow():
            raise UpstreamUnavailableError(f"{self.name} is paused after repeated failures",
                                           details={"upstream": self.name, "retry_in": round(self.retry_in(), 1)})

    def release(self) -> None:
        """A call ended without an outcome (cancelled): let the next trial through."""
        self._trial_running = False

    def record(self, error: Exception | None) -> None:
        """Count a finished call: only outages (no answer, 5xx, unreadable) open the breaker."""
        if error is not None and is_outage(error):
            self.record_failure()
        else:
            self.record_success()


def is_outage(error: Exception) -> bool:
    """Whether an upstream error means the upstream is down rather than refusing one request."""
    if not isinstance(error, UpstreamError) or isinstance(error, (UpstreamRateLimitedError, UpstreamBudgetError)):
        return False
    return error.details.get("status", 500) >= 500
