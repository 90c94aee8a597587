"""The one guard around every upstream call, whatever the client (httpx, ccxt, an SDK such as an
OpenAI-compatible client or web3).

For each call: the breaker is asked (an upstream in repeated outage is not called), the shared budget is
spent (a call the budget cannot pay for is not made), the call runs, a foreign exception is translated
into the suite's error tree, the outcome goes to the breaker and to the metrics, and an upstream that
asked us to slow down is paused for every replica. A cancelled call releases the breaker's trial slot.

    guard = Guard("coingecko", budget=budget, translate=translate_httpx_error)
    rows = await guard.call(lambda: client.get(...))

A client that makes several requests per call (ccxt's `load_markets`) spends per request through
`Guard.spend` and calls `guard.call(..., cost=None)`.
"""

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import SecretStr

from dm_shared.breaker import CircuitBreaker
from dm_shared.budget import Budget
from dm_shared.errors import ApiError, UpstreamBadResponseError, UpstreamBudgetError, UpstreamRateLimitedError
from dm_shared.metrics import UPSTREAM_CALLS, UPSTREAM_LATENCY

log = logging.getLogger("dm.guard")
T = TypeVar("T")

# Pause after a rate-limit answer that says nothing of how long to wait: doubling from the first to the
# last for each such answer in a row, until a call succeeds again.
FIRST_PAUSE_SECONDS, LAST_PAUSE_SECONDS = 2.0, 300.0


def _unreadable(name: str) -> Callable[[Exception], ApiError]:
    def translate(exc: Exception) -> ApiError:
        return UpstreamBadResponseError(f"{name} sent a response that could not be read ({type(exc).__name__})",
                                        details={"upstream": name})
    return translate


class Latency:
    """Recent successful call durations of one upstream, for hedging: when the next source may start."""

    def __init__(self, size: int = 64, minimum: int = 5):
        self._seconds: deque[float] = deque(maxlen=size)
        self._minimum = minimum

    def observe(self, seconds: float) -> None:
        self._seconds.append(seconds)

    def p95(self) -> float | None:
        """The 95th percentile of recent successes; None until there are enough of them."""
        if len(self._seconds) < self._minimum:
            return None
        ordered = sorted(self._seconds)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


class Guard:
    """Breaker, shared budget, metrics and rate-limit pause of one upstream."""

    def __init__(self, name: str, *, budget: Budget | None = None, breaker: CircuitBreaker | None = None,
                 translate: Callable[[Exception], ApiError] | None = None):
        self.name = name
        self.budget = budget
        self.breaker = breaker or CircuitBreaker(name)
        # Foreign exceptions (an SDK's, a parser's) become suite errors here; suite errors pass as they are.
        self.translate = translate or _unreadable(name)
        self._limited_in_a_row = 0
        self.latency = Latency()

    async def spend(self, cost: float) -> None:
        """Take `cost` from this upstream's shared budget, or raise: paused (429 answer) or budget spent."""
        if self.budget is not None:
            await self.budget.take(self.name, cost)

    async def call(self, make_call: Callable[[], Awaitable[T]], *, cost: float | None = 1.0) -> T:
        """Run one call to the upstream under the guard; every failure comes out as an ApiError.

        `cost` is spent from the budget first; None when the client spends per request itself.
        """
        try:
            self.breaker.check()
            if cost:
                await self.spend(cost)
        except ApiError as exc:  # refused before anything was sent
            UPSTREAM_CALLS.labels(self.name, exc.code.lower()).inc()
            raise
        started = time.perf_counter()
        try:
            result = await make_call()
        except asyncio.CancelledError:
            self.breaker.release()
            raise
        except Exception as exc:  # the boundary: whatever the client raised leaves as a suite error
            error = exc if isinstance(exc, ApiError) else self.translate(exc)
            await self._failed(error)
            if error is exc:
                raise
            raise error from exc
        finally:
            UPSTREAM_LATENCY.labels(self.name).observe(time.perf_counter() - started)
        self.breaker.record(None)
        self._limited_in_a_row = 0
        self.latency.observe(time.perf_counter() - started)
        UPSTREAM_CALLS.labels(self.name, "ok").inc()
        return result

    async def _failed(self, error: ApiError) -> None:
        UPSTREAM_CALLS.labels(self.name, error.code.lower()).inc()
        refused_here = isinstance(error, UpstreamBudgetError) or error.details.get("paused")
        if refused_here:  # our own budget or pause stopped a request inside the call: nothing was learnt
            self.breaker.release()
            return
        self.breaker.record(error)
        if isinstance(error, UpstreamRateLimitedError):
            if error.retry_after is None:  # the answer said nothing of how long: back off exponentially
                self._limited_in_a_row += 1
                error.retry_after = min(LAST_PAUSE_SECONDS, FIRST_PAUSE_SECONDS * 2 ** (self._limited_in_a_row - 1))
                error.details["retry_after"] = error.retry_after
            await self.pause(error.retry_after)

    async def pause(self, seconds: float) -> None:
        """Pause the upstream for every replica for `seconds`."""
        if self.budget is not None:
            await self.budget.pause(self.name, seconds)


def guards(budget: Budget | None, *, threshold: int, cooldown: float) -> Callable[[str], Guard]:
    """A service's guard maker: every upstream with the service's breaker settings and the shared budget."""
    def guard(name: str) -> Guard:
        return Guard(name, budget=budget, breaker=CircuitBreaker(name, threshold=threshold, cooldown=cooldown))
    return guard


def secret_value(value: SecretStr | None) -> str | None:
    """A secret setting's text, None when unset."""
    return value.get_secret_value() if value else None

