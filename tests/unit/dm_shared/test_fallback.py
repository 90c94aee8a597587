"""Fallback chains: hedged, bounded by the request's deadline, one rule when every source failed."""

import asyncio
import time

import pytest

from dm_shared.deadline import REPLY_SECONDS, Deadline
from dm_shared.errors import (
    InvalidSymbolError,
    SourceUnsupportedError,
    UpstreamError,
    UpstreamRateLimitedError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from dm_shared.fallback import Source, first_success


def answering(value, after: float = 0.0, started: list | None = None):
    async def fetch():
        if started is not None:
            started.append(time.monotonic())
        await asyncio.sleep(after)
        return value
    return fetch


def failing(error: Exception, after: float = 0.0):
    async def fetch():
        await asyncio.sleep(after)
        raise error
    return fetch


async def test_a_failure_hands_over_at_once():
    value, provenance = await first_success([Source("a", failing(UpstreamError("500", details={"status": 500}))),
                                             Source("b", answering("B"))])
    assert (value, provenance.source, provenance.fallback) == ("B", "b", True)
    assert [(a.source, a.code) for a in provenance.failed] == [("a", "UPSTREAM_ERROR")]


async def test_a_slow_source_is_hedged_and_the_first_good_answer_wins():
    started = time.monotonic()
    value, provenance = await first_success([Source("slow", answering("S", after=10), hedge_after=0.3),
                                             Source("quick", answering("Q", after=0.05))],
                                            deadline=Deadline(3))
    took = time.monotonic() - started
    assert (value, provenance.source) == ("Q", "quick") and 0.3 <= took < 0.6
    assert [(a.source, a.code) for a in provenance.failed] == [("slow", "LATE")]


async def test_a_source_without_latency_history_is_hedged_at_its_share_of_the_deadline():
    began: list[float] = []
    started = time.monotonic()
    await first_success([Source("a", answering("A", after=10)), Source("b", answering("B", after=10)),
                         Source("c", answering("C", started=began))], deadline=Deadline(1.5))
    # three sources share the 1.25 s upstreams are waited on (the rest is the reply's): b starts at a third of
    # it, c at half of what is then left
    waited = 1.5 - REPLY_SECONDS
    assert waited * 2 / 3 - 0.05 <= began[0] - started < waited * 2 / 3 + 0.25
    began.clear()
    started = time.monotonic()
    await first_success([Source("a", answering("A", after=10)), Source("b", answering("B", started=began))],
                        deadline=Deadline(10))
    assert 0.95 <= began[0] - started < 1.2  # half of 10 s is its share, but no hedge waits more than 1 s


async def test_past_the_deadline_the_chain_ends_with_a_timeout_naming_every_source():
    started = time.monotonic()
    with pytest.raises(UpstreamTimeoutError) as caught:
        await first_success([Source("a", answering("A", after=10)), Source("b", answering("B", after=10))],
                            deadline=Deadline(0.6))
    assert time.monotonic() - started < 0.6  # by the deadline itself: the reply's time is kept free
    assert [(a["source"], a["code"]) for a in caught.value.details["attempts"]] == [
        ("a", "UPSTREAM_TIMEOUT"), ("b", "UPSTREAM_TIMEOUT")]
    assert caught.value.response_headers()["Retry-After"] == "5"


async def test_a_source_slow_to_wind_down_does_not_hold_the_answer_past_the_deadline():
    finished = asyncio.Event()

    async def stubborn():  # a client that finishes its own timeout before it honours a cancel
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(1)
            finished.set()
            raise
    started = time.monotonic()
    with pytest.raises(UpstreamTimeoutError):
        await first_success([Source("a", stubborn)], deadline=Deadline(0.3))
    assert time.monotonic() - started < 0.6 and not finished.is_set()
    await asyncio.wait_for(finished.wait(), 2)  # it still winds down, in the background


async def test_every_source_failing_is_503_with_the_soonest_retry():
    chain = [Source("a", failing(UpstreamRateLimitedError("slow", retry_after=30))),
             Source("b", failing(UpstreamRateLimitedError("slow", retry_after=12.2)))]
    with pytest.raises(UpstreamUnavailableError) as caught:
        await first_success(chain)
    assert caught.value.response_headers()["Retry-After"] == "13"
    assert caught.value.details["attempts"][1] == {"source": "b", "code": "UPSTREAM_RATE_LIMITED", "message": "slow",
                                                   "retry_after": 12.2}


async def test_a_symbol_no_source_knows_is_404_with_what_is_supported():
    chain = [Source("a", failing(InvalidSymbolError("no", details={"supported_symbols": ["BTC/USDT"]}))),
             Source("b", failing(SourceUnsupportedError("not asked")))]
    with pytest.raises(InvalidSymbolError) as caught:
        await first_success(chain, supported=["ETH/USDT"])
    assert caught.value.details["supported_symbols"] == ["BTC/USDT", "ETH/USDT"]
