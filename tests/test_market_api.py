"""GET /api/market and /api/ohlcv through traefik, against real Redis, NATS and the sandbox."""

import asyncio
import csv
import time

import httpx
import pytest

from helpers import SANDBOX_DATA, expire_market_pages, recorded, served, unique_limit

MARKET_FIELDS = {"symbol", "name", "rank", "price", "change_24h", "change_7d", "volume_24h", "market_cap",
                 "circulating_supply", "total_supply", "ath", "ath_date", "atl", "atl_date", "last_updated"}
MARKETS_PATH = "/api/v3/coins/markets"


def hourly_rows(symbol: str) -> list[dict[str, str]]:
    with open(SANDBOX_DATA / "history" / f"{symbol}_1h.csv") as handle:
        return list(csv.DictReader(handle))


def test_market_returns_what_coingecko_served(api):
    response = api.get("/api/market", params={"limit": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and abs(body["timestamp"] - time.time() * 1000) < 60_000
    assert body["source"] == "coingecko"
    assert body["provenance"]["fallback"] is False and body["provenance"]["stale"] is False
    rows = recorded("coingecko/coins_markets_usd_per100_page1.json")[:5]
    assert len(body["items"]) == 5
    for item, row in zip(body["items"], rows, strict=False):
        assert item.keys() >= MARKET_FIELDS
        assert item["symbol"] == row["symbol"].upper() and item["name"] == row["name"]
        assert item["rank"] == row["market_cap_rank"]
        assert item["price"] == row["current_price"]
        assert item["change_24h"] == row["price_change_percentage_24h"]
        assert item["volume_24h"] == row["total_volume"] and item["market_cap"] == row["market_cap"]
        assert item["circulating_supply"] == row["circulating_supply"]
        assert item["ath"] == row["ath"] and item["ath_date"] == row["ath_date"][:10]
        assert item["atl"] == row["atl"] and item["atl_date"] == row["atl_date"][:10]
        assert item["last_updated"] == row["last_updated"]
    assert body["last_updated"] == max(r["last_updated"] for r in rows)


def test_market_sorts_by_volume_and_filters_by_category(api):
    by_volume = api.get("/api/market", params={"limit": 10, "sort": "volume"}).json()["items"]
    volumes = [item["volume_24h"] for item in by_volume]
    assert volumes == sorted(volumes, reverse=True)
    meme = api.get("/api/market", params={"limit": 50, "category": "meme"}).json()["items"]
    members = set(recorded("coingecko_categories.json")["meme-token"])
    assert meme and {item["id"] for item in meme} <= members


def test_ohlcv_returns_the_latest_real_candles(api):
    response = api.get("/api/ohlcv", params={"symbol": "BTC/USDT", "timeframe": "1h", "limit": 10})
    assert response.status_code == 200
    body = response.json()
    assert body["symbol"] == "BTC/USDT" and body["timeframe"] == "1h" and body["source"] == "binance"
    candles = body["data"]
    rows = hourly_rows("BTCUSDT")[-10:]
    hour = int(time.time()) // 3600 * 3_600_000
    assert candles[-1]["t"] in (hour, hour - 3_600_000)  # the newest candle is the one in progress
    shift = candles[-1]["t"] - int(rows[-1]["t"])
    for candle, row in zip(candles, rows, strict=True):
        assert candle["t"] == int(row["t"]) + shift
        assert [candle[k] for k in "ohlcv"] == [float(row[k]) for k in "ohlcv"]


def test_ohlcv_window_since_until(api):
    latest = api.get("/api/ohlcv", params={"symbol": "ETH/USDT", "timeframe": "1h", "limit": 48}).json()["data"]
    since, until = latest[10]["t"], latest[20]["t"]
    window = api.get("/api/ohlcv", params={"symbol": "ETH/USDT", "timeframe": "1h", "since": since,
                                           "until": until, "limit": 1000}).json()["data"]
    assert [c["t"] for c in window] == [c["t"] for c in latest[10:21]]


FAULTS = [
    ({"mode": "status", "status": 500}, "UPSTREAM_ERROR"),
    ({"mode": "status", "status": 503}, "UPSTREAM_ERROR"),
    ({"mode": "rate_limit", "retry_after": 30}, "UPSTREAM_RATE_LIMITED"),
    ({"mode": "malformed"}, "UPSTREAM_BAD_RESPONSE"),
    ({"mode": "delay", "delay": 4}, "LATE"),  # overtaken by the next source, started beside it (hedged)
    ({"mode": "refuse"}, "UPSTREAM_UNAVAILABLE"),
]


@pytest.mark.parametrize("fault, code", FAULTS, ids=[f[0]["mode"] + str(f[0].get("status", "")) for f in FAULTS])
def test_market_falls_back_to_binance(api, sandbox, suite, fault, code):
    expire_market_pages()
    sandbox.fault("coingecko", **fault)
    body = api.get("/api/market", params={"limit": unique_limit()}).json()
    assert body["source"] == "binance" and body["provenance"]["fallback"] is True
    assert [(f["source"], f["code"]) for f in body["provenance"]["failed"]] == [("coingecko", code)]
    ticker = served(suite, "binance", "/api/v3/ticker/24hr", symbol="BTCUSDT")
    btc = next(item for item in body["items"] if item["symbol"] == "BTC")
    assert btc["price"] == float(ticker["lastPrice"]) and btc["volume_24h"] == float(ticker["quoteVolume"])
    assert btc["market_cap"] is None and body["provenance"]["notes"]  # what binance cannot say is said


@pytest.mark.parametrize("fault, code", FAULTS, ids=[f[0]["mode"] + str(f[0].get("status", "")) for f in FAULTS])
def test_ohlcv_falls_back_to_kucoin(api, sandbox, fault, code):
    sandbox.fault("binance", path="/api/v3/klines", **fault)
    body = api.get("/api/ohlcv", params={"symbol": "BTC/USDT", "timeframe": "1h", "limit": unique_limit()}).json()
    assert body["source"] == "kucoin" and body["provenance"]["fallback"] is True
    assert [(f["source"], f["code"]) for f in body["provenance"]["failed"]] == [("binance", code)]
    rows = hourly_rows("BTCUSDT")
    newest = body["data"][-1]
    assert newest["c"] == float(rows[-1]["c"]) and newest["o"] == float(rows[-1]["o"])


def test_ohlcv_falls_back_to_coingecko_for_4h(api, sandbox):
    sandbox.fault("binance", mode="status", status=502, path="/api/v3/klines")
    sandbox.fault("kucoin", mode="status", status=502, path="/api/v1/market/candles")
    sandbox.fault("okx", mode="status", status=502, path="/api/v5/market")
    body = api.get("/api/ohlcv", params={"symbol": "BTC/USDT", "timeframe": "4h", "limit": 12}).json()
    assert body["source"] == "coingecko"
    assert [f["source"] for f in body["provenance"]["failed"]] == ["binance", "kucoin", "okx"]
    assert body["data"] and all(candle["v"] is None for candle in body["data"])


def test_every_source_failing_without_cache_is_a_503_envelope(api, sandbox):
    expire_market_pages()
    sandbox.fault("coingecko", mode="status", status=500)
    sandbox.fault("binance", mode="status", status=500)
    response = api.get("/api/market", params={"limit": unique_limit()})
    assert response.status_code == 503
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert [a["source"] for a in body["error"]["details"]["attempts"]] == ["coingecko", "binance", "coinmarketcap"]


def test_every_source_failing_serves_the_cached_value_labelled_stale(api, sandbox):
    params = {"limit": unique_limit()}
    fresh = api.get("/api/market", params=params).json()
    time.sleep(2.2)  # past the 2 s TTL the suite runs with
    sandbox.fault("coingecko", mode="status", status=500)
    sandbox.fault("binance", mode="refuse")
    response = api.get("/api/market", params=params)
    assert response.status_code == 200 and response.headers["x-cache"] == "STALE"
    body = response.json()
    assert body["items"] == fresh["items"] and body["source"] == "coingecko"
    provenance = body["provenance"]
    assert provenance["stale"] is True and provenance["cached"] is True
    assert provenance["age_ms"] >= 2000 and provenance["stale_reason"] == "UPSTREAM_UNAVAILABLE"


async def test_twenty_concurrent_cold_requests_make_one_upstream_call(suite, sandbox):
    expire_market_pages()
    sandbox.reset_counts()
    sandbox.fault("coingecko", mode="delay", delay=0.5, path=MARKETS_PATH)
    params = {"limit": unique_limit()}
    async with httpx.AsyncClient(base_url=suite.url("traefik"), timeout=30) as client:
        responses = await asyncio.gather(*(client.get("/api/market", params=params) for _ in range(20)))
    assert [r.status_code for r in responses] == [200] * 20
    assert len({tuple(i["symbol"] for i in r.json()["items"]) for r in responses}) == 1
    assert sandbox.count("coingecko", MARKETS_PATH) == 1


def test_cache_hit_inside_ttl_and_fresh_fetch_after(api, sandbox):
    expire_market_pages()
    sandbox.reset_counts()
    params = {"limit": unique_limit()}
    first = api.get("/api/market", params=params)
    second = api.get("/api/market", params=params)
    assert first.headers["x-cache"] == "MISS" and second.headers["x-cache"] == "HIT"
    assert first.json()["provenance"]["cached"] is False
    hit = second.json()["provenance"]
    assert hit["cached"] is True and hit["stale"] is False and 0 <= hit["age_ms"] < 2000
    assert second.json()["timestamp"] >= first.json()["timestamp"]
    assert sandbox.count("coingecko", MARKETS_PATH) == 1
    time.sleep(2.2)
    third = api.get("/api/market", params=params)
    assert third.headers["x-cache"] == "MISS" and sandbox.count("coingecko", MARKETS_PATH) == 2
