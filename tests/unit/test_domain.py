"""Pure logic: symbols, candle windows, ccxt URL rewriting, cache entries, the breaker, the route table."""

import time

import pytest

from dm_shared.breaker import BreakerState, CircuitBreaker
from dm_shared.cache import TTL, Entry
from dm_shared.errors import InvalidSymbolError, UpstreamError, UpstreamRateLimitedError, UpstreamTimeoutError

from gateway.routes import match
from market_svc.adapters.exchange import rewrite_hosts
from market_svc.domain.assets import ASSETS
from market_svc.domain.ohlcv import select
from market_svc.domain.symbols import Pair, parse_pair


def test_cache_ttls_are_the_specs():
    assert TTL == {"price": 5, "ohlcv": 60, "market": 60, "news": 300, "sentiment": 600, "ai_signals": 120,
                   "stats": 300}


KNOWN = set(ASSETS)


@pytest.mark.parametrize("raw", ["BTC", "btc", "BTC/USDT", "btc/usdt", " BTC/USDT ", "BTC-USDT", "BTC_USDT",
                                 "BTCUSDT", "btcusdt"])
def test_every_usual_spelling_is_the_same_pair(raw):
    assert parse_pair(raw, known_bases=KNOWN) == Pair("BTC", "USDT")


def test_concatenated_symbols_split_at_a_known_asset():
    assert parse_pair("ETHBTC", known_bases=KNOWN) == Pair("ETH", "BTC")
    assert parse_pair("SOLUSDC", known_bases=KNOWN) == Pair("SOL", "USDC")
    assert parse_pair("ETH", known_bases=KNOWN, default_quote="EUR") == Pair("ETH", "EUR")


@pytest.mark.parametrize("raw", ["", "BTC/", "/USDT", "BTC/USDT/X", "B TC/USDT", "БТЦ", "BTC/USDT'--", "../x",
                                 "A" * 40, "BTC\x00"])
def test_malformed_symbols_are_invalid(raw):
    with pytest.raises(InvalidSymbolError):
        parse_pair(raw, known_bases=KNOWN)


def test_unknown_assets_come_with_close_matches():
    with pytest.raises(InvalidSymbolError) as caught:
        parse_pair("BTCC", known_bases=KNOWN)
    assert "BTC" in caught.value.details["close_matches"]


def test_select_keeps_window_order_and_limit():
    candles = [{"t": t} for t in (5, 1, 3, 2, 4, 3)]
    assert [c["t"] for c in select(candles, since=None, until=None, limit=3)] == [3, 4, 5]
    assert [c["t"] for c in select(candles, since=2, until=4, limit=10)] == [2, 3, 4]
    assert [c["t"] for c in select(candles, since=2, until=None, limit=2)] == [2, 3]


def test_rewrite_hosts_reaches_every_nested_url():
    urls = {"public": "https://api.binance.com/api/v3", "fapi": {"x": "https://fapi.binance.com/fapi/v1?a=1"},
            "rest": "https://{hostname}", "n": 3}
    assert rewrite_hosts(urls, "http://127.0.0.1:9/") == {
        "public": "http://127.0.0.1:9/api/v3", "fapi": {"x": "http://127.0.0.1:9/fapi/v1?a=1"},
        "rest": "http://127.0.0.1:9", "n": 3}


def test_entry_round_trips_and_ages():
    entry = Entry(body=b'{"a":1}', fetched_at=int(time.time() * 1000) - 3000, ttl=2)
    again = Entry.from_bytes(entry.to_bytes())
    assert (again.body, again.fetched_at, again.ttl) == (entry.body, entry.fetched_at, entry.ttl)
    assert not again.fresh() and again.age_ms() >= 3000


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


def test_cache_key_ignores_undeclared_parameters_and_order():
    route = match("/api/ohlcv")
    assert route.canonical_query(b"timeframe=1h&junk=1&symbol=BTC/USDT&limit=5&limit=7") == \
        "limit=7&symbol=BTC%2FUSDT&timeframe=1h"


@pytest.mark.parametrize("path, target", [
    ("/api/price/BTC", "/v1/price/BTC"),
    ("/api/price/BTC/USDT", "/v1/price/BTC%2FUSDT"),
    ("/api/history/price/../../health", "/v1/history/price/..%2F..%2Fhealth"),
    ("/api/stats/dominance", "/v1/stats/dominance"),
])
def test_symbol_routes_forward_the_rest_encoded(path, target):
    assert match(path).target_for(path) == target


def test_unrouted_paths_do_not_match():
    assert match("/api/price/") is None and match("/api/nothing") is None and match("/apix/market") is None
