"""The circuit breaker opens on outages only, and lets one trial through after its cool-down."""

import time

from dm_shared.breaker import BreakerState, CircuitBreaker
from dm_shared.errors import UpstreamError, UpstreamRateLimitedError, UpstreamTimeoutError


def test_breaker_opens_on_outages_only_and_half_opens():
    breaker = CircuitBreaker("x", threshold=2, cooldown=0.05)
    breaker.record(UpstreamRateLimitedError(retry_after=1))
    breaker.record(UpstreamError("404", details={"status": 404}))
    assert breaker.state is BreakerState.CLOSED
    breaker.record(UpstreamTimeoutError())
    breaker.record(UpstreamError("500", details={"status": 500}))
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    time.sleep(0.06)
    assert breaker.allow() and not breaker.allow()  # one trial call at a time
    breaker.record(None)
    assert breaker.state is BreakerState.CLOSED
