"""Rate limits on every venue, paused for every replica; and answers within a deadline whatever the
upstreams do. A suite of its own: two market-svc replicas, and the default 5 s timeout per upstream call
(so the deadline, not the per-call timeout, is what bounds an answer)."""

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest

from devstack.catalogue import CATALOGUE, replica

from contract import Contract
from helpers import running_suite, sandbox_control

RATE_LIMITS = Path(__file__).resolve().parent / "fixtures" / "rate_limits"
# Each venue's recorded rate-limit answer, and the path /v1/price asks it on.
VENUES = {
    "binance": ("binance_http429_-1003.json", "/api/v3/ticker/24hr"),
    "kucoin": ("kucoin_http429_429000.json", "/api/v1/market/stats"),
    "okx": ("okx_http429_50011.json", "/api/v5/market/ticker"),
    "coingecko": ("coingecko_http429.json", "/api/v3/simple/price"),
}
ENV = {"MARKET_UPSTREAM_TIMEOUT": "5", "GATEWAY_CACHE_TTL": json.dumps({"market": 2, "ohlcv": 2, "price": 2,
                                                                       "stats": 2})}
UPSTREAMS = ("coingecko", "binance", "kucoin", "okx", "coinpaprika")
PAUSE = 12  # the Retry-After, in seconds, of the rate-limit answers the venues give below


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_suite(tmp_path_factory.mktemp("deadlines"), ENV,
                       catalogue=(*CATALOGUE, replica("market", 1)),
                       components=["redis", "nats", "mongo", "sandbox", "market", "market-1", "stream", "gateway",
                                   "traefik"]) as stack:
        yield stack


@pytest.fixture
def control(stack):
    with sandbox_control(stack, forget_limits=True) as sandbox:
        yield sandbox


def price(stack, name: str) -> dict:
    """/v1/price/BTC straight from one replica (never cached), checked against market-svc's document."""
    response = httpx.get(f"{stack.url(name)}/v1/price/BTC", params={"include_24h": "false"}, timeout=30)
    Contract.of(stack.url(name)).check(response)
    return response.json()


def test_a_rate_limit_answer_pauses_each_venue_for_both_replicas_until_retry_after(stack, control):
    for name in ("market", "market-1"):  # markets loaded, every venue answering
        assert {s["source"] for s in price(stack, name)["consensus"]["sources"]} == set(VENUES)
    control.reset_counts()
    for venue, (body, path) in VENUES.items():
        control.fault(venue, mode="status", status=429, retry_after=PAUSE, times=1, path=path,
                      body=json.loads((RATE_LIMITS / body).read_text()))
    limited_at = time.monotonic()
    answers = [price(stack, "market")]
    while time.monotonic() - limited_at < PAUSE - 2:  # uncached requests on both replicas, nearly all the pause
        answers.extend(price(stack, name) for name in ("market-1", "market"))
        time.sleep(0.2)
    for venue in VENUES:
        assert control.count(venue, "/") == 1, f"{venue} was asked again while paused"
    assert len(answers) >= PAUSE - 2  # at least one a second, however busy the machine
    for answer in answers:  # every answer says why each venue was not used: rate limited, with how long
        entries = answer["error"]["details"]["attempts"] if answer["success"] is False else \
            answer["consensus"]["failed"]
        by_venue = {e["source"]: e for e in entries}
        assert set(by_venue) == set(VENUES), answer
        for entry in by_venue.values():
            assert entry["code"] == "UPSTREAM_RATE_LIMITED" and 0 < entry["retry_after"] <= PAUSE
    time.sleep(max(0.0, PAUSE + 0.5 - (time.monotonic() - limited_at)))
    after = price(stack, "market-1")
    assert {s["source"] for s in after["consensus"]["sources"]} == set(VENUES)  # used again after the pause
    for venue in VENUES:
        assert control.count(venue, "/") == 2


async def test_with_every_upstream_hung_each_route_answers_within_its_deadline(stack, control):
    # A history window with daily boundaries in it at any time of day (a window holding none is answered
    # empty without asking an upstream), and after 2009 (no upstream is asked for one before).
    now = int(time.time() * 1000)
    routes = {"/api/market": {"limit": 7}, "/api/ohlcv": {"symbol": "BTC/USDT", "timeframe": "1h", "limit": 7},
              "/api/price/BTC": {"convert": "usd"}, "/api/ticker/BTC": {}, "/api/orderbook/BTC": {"limit": 7},
              "/api/trades/BTC": {"limit": 7}, "/api/exchange-info": {"exchange": "okx"}, "/api/stats": {},
              "/api/stats/dominance": {}, "/api/history/price/BTC": {"from": now - 3 * 86_400_000, "to": now},
              "/api/derivatives/funding/BTC": {}, "/api/derivatives/open-interest/BTC": {}}
    deadline = {"/api/price/BTC": 1.0}
    async with httpx.AsyncClient(base_url=stack.url("traefik"), timeout=30) as client:
        warm = ["/api/market", "/api/ticker/BTC", "/api/stats"]  # these have a value in the cache, now old
        for path in warm:
            assert (await client.get(path, params=routes[path])).status_code == 200
        await asyncio.sleep(2.2)  # past the suite's 2 s TTL
        for upstream in UPSTREAMS:
            control.fault(upstream, mode="delay", delay=30)

        async def timed(path: str) -> tuple[str, float, httpx.Response]:
            started = time.monotonic()
            response = await client.get(path, params={**routes[path], "nonce": 1})
            return path, time.monotonic() - started, response

        results = await asyncio.gather(*(timed(path) for path in routes))
    for path, took, response in results:
        assert took <= deadline.get(path, 3.0) + 0.5 and took < 6, (path, took)
        if path in warm:
            assert response.status_code == 200 and response.json()["provenance"]["stale"] is True, path
        else:
            assert response.status_code in (503, 504), (path, response.text[:200])
            assert int(response.headers["retry-after"]) >= 1
            assert response.json()["error"]["code"] in ("UPSTREAM_TIMEOUT", "UPSTREAM_UNAVAILABLE")


def test_one_venue_hung_costs_the_hedge_delay_not_the_timeout(stack, control):
    control.fault("binance", mode="delay", delay=30)
    with httpx.Client(base_url=stack.url("traefik"), timeout=30) as client:
        for path, params in (("/api/ticker/BTC", {}), ("/api/ohlcv", {"symbol": "ETH/USDT", "timeframe": "1h",
                                                                       "limit": 9}),
                             ("/api/trades/BTC", {"limit": 9}), ("/api/derivatives/funding/BTC", {})):
            started = time.monotonic()
            response = client.get(path, params=params)
            took = time.monotonic() - started
            body = response.json()
            assert response.status_code == 200 and body["source"] != "binance", (path, response.text[:200])
            assert took < 1.5, (path, took)
            assert body["provenance"]["failed"][0]["source"] == "binance"
