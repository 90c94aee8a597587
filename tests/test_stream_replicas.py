"""Two stream-svc replicas split the symbols (none published twice) and take over a dead replica's."""

import asyncio
import time

import httpx
import nats
import orjson
import pytest

from devstack.catalogue import CATALOGUE, replica

from helpers import running_suite

SYMBOLS = {"BTC/USDT", "ETH/USDT"}
ENV = {"STREAM_LEASE_TTL_SECONDS": "4", "STREAM_LEASE_RENEW_SECONDS": "1"}


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    components = ["redis", "nats", "mongo", "sandbox", "stream", "stream-1"]
    with running_suite(tmp_path_factory.mktemp("replicas"), ENV, components=components,
                       catalogue=(*CATALOGUE, replica("stream", 1))) as stack:
        httpx.post(stack.url("sandbox") + "/_sandbox/streams", json={"rate": 5}).raise_for_status()
        yield stack


def holdings(stack, names=("stream", "stream-1")) -> dict[str, set[str]]:
    return {name: set(httpx.get(stack.url(name) + "/health", timeout=5).json()["symbols"]) for name in names}


def wait_for(condition, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s")


async def producers(stack, seconds: float) -> dict[str, set[str]]:
    """Which producer published each symbol's tickers during `seconds`."""
    nc = await nats.connect(stack.url("nats"))
    seen: dict[str, set[str]] = {}

    async def on_message(msg):
        message = orjson.loads(msg.data)
        seen.setdefault(message["symbol"], set()).add(message["producer"])

    await nc.subscribe("market.ticker.>", cb=on_message)
    await asyncio.sleep(seconds)
    await nc.close()
    return seen


async def test_replicas_split_the_symbols_and_none_is_published_twice(replicas):
    wait_for(lambda: all(len(held) == 1 for held in holdings(replicas).values()), 20)
    held = holdings(replicas)
    assert held["stream"] | held["stream-1"] == SYMBOLS and not held["stream"] & held["stream-1"]
    ids = {name: httpx.get(replicas.url(name) + "/health").json()["replica"] for name in held}
    seen = await producers(replicas, 3)
    assert set(seen) == SYMBOLS
    for name, symbols in held.items():
        for symbol in symbols:
            assert seen[symbol] == {ids[name]}  # one producer per symbol: the lease holder


async def test_a_dead_replicas_symbols_resume_from_the_other_within_10_seconds(replicas):
    wait_for(lambda: all(len(held) == 1 for held in holdings(replicas).values()), 20)
    survivor_id = httpx.get(replicas.url("stream-1") + "/health").json()["replica"]
    replicas.kill("stream")
    took = wait_for(lambda: holdings(replicas, ("stream-1",))["stream-1"] == SYMBOLS, 10)
    seen = await producers(replicas, 2)
    assert seen == {symbol: {survivor_id} for symbol in SYMBOLS}
    assert took < 10
    replicas.start("stream")
