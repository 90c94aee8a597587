"""The one upstream guard: what it does around a call, whatever the client."""

import asyncio

import pytest

from dm_shared.breaker import BreakerState, CircuitBreaker
from dm_shared.budget import Budget, Limit
from dm_shared.errors import (
    UpstreamBadResponseError,
    UpstreamBudgetError,
    UpstreamError,
    UpstreamRateLimitedError,
    UpstreamUnavailableError,
)
from dm_shared.guard import Guard
from dm_shared.redis_client import fail_fast_redis


@pytest.fixture
async def budget():
    redis = fail_fast_redis("redis://127.0.0.1:9/0", timeout=0.05)  # nothing listens: budgets stay local
    yield Budget(redis)
    await redis.aclose()


def counting(result=None, error: Exception | None = None):
    calls = []

    async def call():
        calls.append(1)
        if error is not None:
            raise error
        return result
    return call, calls


async def test_an_open_breaker_refuses_without_calling():
    guard = Guard("venue", breaker=CircuitBreaker("venue", threshold=1, cooldown=60))
    failing, _ = counting(error=UpstreamError("down", details={"status": 503}))
    with pytest.raises(UpstreamError):
        await guard.call(failing)
    call, calls = counting("ok")
    with pytest.raises(UpstreamUnavailableError):
        await guard.call(call)
    assert calls == [] and guard.breaker.state is BreakerState.OPEN


async def test_a_rate_limit_pauses_the_upstream_for_every_caller(budget):
    guard = Guard("venue", budget=budget)
    limited, _ = counting(error=UpstreamRateLimitedError("slow down", retry_after=30))
    with pytest.raises(UpstreamRateLimitedError):
        await guard.call(limited)
    other = Guard("venue", budget=budget)  # another adapter of the same upstream, sharing the budget
    call, calls = counting("ok")
    with pytest.raises(UpstreamRateLimitedError) as paused:
        await other.call(call)
    assert calls == [] and paused.value.details["paused"] and 29 < paused.value.retry_after <= 30
    assert guard.breaker.state is BreakerState.CLOSED  # asked to slow down is not an outage


async def test_the_budget_is_spent_per_call(budget):
    budget.meter("metered", Limit(per_minute=2))
    guard = Guard("metered", budget=budget)
    call, calls = counting("ok")
    assert [await guard.call(call), await guard.call(call)] == ["ok", "ok"]
    with pytest.raises(UpstreamBudgetError):
        await guard.call(call)
    assert len(calls) == 2


async def test_an_allowance_of_less_than_a_call_a_minute_is_spent_from_its_burst(budget):
    budget.meter("monthly", Limit(per_minute=20_000 / 43_200, burst=3))  # 20,000 calls a month
    guard = Guard("monthly", budget=budget)
    call, calls = counting("ok")
    assert [await guard.call(call) for _ in range(3)] == ["ok"] * 3
    with pytest.raises(UpstreamBudgetError) as spent:
        await guard.call(call)
    assert len(calls) == 3 and 125 < spent.value.details["retry_in"] <= 130  # the next call in 2 minutes 10


async def test_foreign_errors_are_translated_and_a_cancel_releases_the_trial():
    guard = Guard("sdk", breaker=CircuitBreaker("sdk", threshold=1, cooldown=0))
    broken, _ = counting(error=KeyError("choices"))
    with pytest.raises(UpstreamBadResponseError) as caught:
        await guard.call(broken)
    assert isinstance(caught.value.__cause__, KeyError)
    failing, _ = counting(error=UpstreamError("down", details={"status": 500}))
    with pytest.raises(UpstreamError):
        await guard.call(failing)
    started = asyncio.Event()

    async def slow():
        started.set()
        await asyncio.sleep(10)

    task = asyncio.create_task(guard.call(slow))  # the half-open trial call
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    call, _ = counting("ok")
    assert await guard.call(call) == "ok"  # the trial slot was released, so the next call is the trial
