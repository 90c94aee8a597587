"""Every market endpoint through traefik: the values the sandbox's venues serve, and a fallback each."""

import statistics
import time
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import pytest

from helpers import recorded, recorded_closes, served


@pytest.fixture(scope="module")
def quotes(suite) -> dict:
    """BTC/USDT as each venue of the sandbox serves it (one market, derived from the shifted history)."""
    return {
        "binance": served(suite, "binance", "/api/v3/ticker/24hr", symbol="BTCUSDT"),
        "kucoin": served(suite, "kucoin", "/api/v1/market/stats", symbol="BTC-USDT")["data"],
        "okx": served(suite, "okx", "/api/v5/market/ticker", instId="BTC-USDT")["data"][0],
        "coingecko": served(suite, "coingecko", "/api/v3/simple/price", ids="bitcoin", vs_currencies="usd")["bitcoin"],
    }


@pytest.fixture(scope="module")
def prices(quotes) -> dict[str, float]:
    return {"binance": float(quotes["binance"]["lastPrice"]), "kucoin": float(quotes["kucoin"]["last"]),
            "okx": float(quotes["okx"]["last"]), "coingecko": float(quotes["coingecko"]["usd"])}


def ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and abs(body["timestamp"] - time.time() * 1000) < 60_000
    assert body["source"] and "provenance" in body
    return body


@pytest.mark.parametrize("spelling", ["BTC", "btc", "BTC/USDT", "btc/usdt", "BTC-USDT", "BTCUSDT", "btc_usdt"])
def test_every_spelling_reaches_the_same_ticker(api, quotes, spelling):
    body = ok(api.get(f"/api/ticker/{spelling}"))
    assert body["symbol"] == "BTC/USDT" and body["last"] == float(quotes["binance"]["lastPrice"])


def test_ticker_is_binances_and_falls_back_to_kucoin(api, sandbox, quotes):
    binance = quotes["binance"]
    body = ok(api.get("/api/ticker/BTC/USDT"))
    assert body["source"] == "binance" and body["provenance"]["fallback"] is False
    assert (body["bid"], body["ask"], body["last"]) == (
        float(binance["bidPrice"]), float(binance["askPrice"]), float(binance["lastPrice"]))
    assert body["volume"] == float(binance["quoteVolume"])
    sandbox.fault("binance", mode="status", status=500, path="/api/v3/ticker")
    time.sleep(2.1)  # past the suite's 2 s price TTL
    fallback = ok(api.get("/api/ticker/BTC/USDT"))
    assert fallback["source"] == "kucoin" and fallback["last"] == float(quotes["kucoin"]["last"])
    assert fallback["provenance"]["failed"][0]["source"] == "binance"


def test_orderbook_levels_and_fallback(api, sandbox, suite):
    book = served(suite, "binance", "/api/v3/depth", symbol="BTCUSDT", limit=10)
    body = ok(api.get("/api/orderbook/BTCUSDT", params={"limit": 5}))
    assert body["source"] == "binance" and body["symbol"] == "BTC/USDT"
    assert body["bids"] == [[float(p), float(a)] for p, a in book["bids"][:5]]
    assert body["asks"] == [[float(p), float(a)] for p, a in book["asks"][:5]]
    sandbox.fault("binance", mode="malformed", path="/api/v3/depth")
    fallback = ok(api.get("/api/orderbook/BTCUSDT", params={"limit": 2}))
    kucoin = served(suite, "kucoin", "/api/v1/market/orderbook/level2_20", symbol="BTC-USDT")["data"]
    assert fallback["source"] == "kucoin" and fallback["bids"] == [[float(p), float(a)] for p, a in kucoin["bids"]]


def test_trades_and_fallback(api, sandbox, suite):
    agg = served(suite, "binance", "/api/v3/aggTrades", symbol="BTCUSDT")
    body = ok(api.get("/api/trades/BTC-USDT", params={"limit": 5}))
    assert body["source"] == "binance"
    assert [t["price"] for t in body["trades"]] == [float(t["p"]) for t in agg[-5:]]
    assert all(t["side"] in ("buy", "sell") for t in body["trades"])
    sandbox.fault("binance", mode="refuse")
    fallback = ok(api.get("/api/trades/BTC-USDT", params={"limit": 3}))
    kucoin = served(suite, "kucoin", "/api/v1/market/histories", symbol="BTC-USDT")["data"]
    assert fallback["source"] == "kucoin"
    assert [t["price"] for t in fallback["trades"]] == [float(t["price"]) for t in kucoin]


def test_exchange_info_and_fallback(api, sandbox):
    body = ok(api.get("/api/exchange-info"))
    assert body["exchange"] == "binance" and body["source"] == "binance"
    btc = next(s for s in body["symbols"] if s["symbol"] == "BTC/USDT")
    assert (btc["base"], btc["quote"], btc["active"]) == ("BTC", "USDT", True)
    assert btc["min_price"] == 0.01 and btc["max_price"] == 1_000_000
    assert {s["symbol"] for s in body["symbols"]} == {"BTC/USDT", "ETH/USDT"}
    sandbox.fault("binance", mode="status", status=503, path="/api/v3/exchangeInfo")
    fallback = ok(api.get("/api/exchange-info", params={"exchange": "binance"}))
    assert fallback["exchange"] == "kucoin" and fallback["provenance"]["fallback"] is True


def test_stats_and_fallback(api, sandbox):
    figures = recorded("coingecko/global.json")["data"]
    coins = recorded("coingecko/coins_markets_usd_per100_page1.json")
    body = ok(api.get("/api/stats"))
    assert body["source"] == "coingecko"
    assert body["global"]["total_market_cap"] == figures["total_market_cap"]["usd"]
    assert body["global"]["bitcoin_dominance"] == figures["market_cap_percentage"]["btc"]
    assert body["global"]["active_cryptocurrencies"] == figures["active_cryptocurrencies"]
    best = max(coins, key=lambda c: c["price_change_percentage_24h"])
    assert body["top_gainers"][0] == {"symbol": best["symbol"].upper(), "name": best["name"],
                                      "change_24h": best["price_change_percentage_24h"],
                                      "volume_24h": best["total_volume"]}
    changes = [g["change_24h"] for g in body["top_losers"]]
    assert changes == sorted(changes)
    # both /global sources down: the estimate from CoinGecko's coin list (tests/test_stats_sources.py has the rest)
    sandbox.fault("coingecko", mode="status", status=500, path="/api/v3/global")
    sandbox.fault("coinpaprika", mode="status", status=500)
    time.sleep(2.1)
    fallback = ok(api.get("/api/stats"))
    assert fallback["source"] == "coingecko-markets" and fallback["provenance"]["notes"]
    assert [f["source"] for f in fallback["provenance"]["failed"]] == ["coingecko", "coinpaprika"]
    assert fallback["global"]["total_market_cap"] == sum(c["market_cap"] for c in coins)


def test_dominance_and_fallback(api, sandbox):
    shares = recorded("coingecko/global.json")["data"]["market_cap_percentage"]
    body = ok(api.get("/api/stats/dominance"))
    assert body["dominance"]["BTC"] == round(shares["btc"], 4) and body["dominance"]["ETH"] == round(shares["eth"], 4)
    assert abs(sum(body["dominance"].values()) - 100) < 0.01
    sandbox.fault("coingecko", mode="status", status=503, path="/api/v3/global")
    sandbox.fault("coinpaprika", mode="status", status=503)
    time.sleep(2.1)
    fallback = ok(api.get("/api/stats/dominance"))
    assert fallback["source"] == "coingecko-markets" and "BTC" in fallback["dominance"]


@pytest.mark.parametrize("interval, days", [("1h", 2), ("1d", 20), ("1M", 200)])
def test_history_points_are_the_price_at_their_time_from_coingecko_and_from_candles(api, sandbox, interval, days):
    closes = recorded_closes("BTCUSDT")
    now = int(time.time() * 1000)
    params = {"from": now - days * 86_400_000, "to": now, "interval": interval}
    body = ok(api.get("/api/history/price/BTC", params=params))
    assert body["source"] == "coingecko" and body["interval"] == interval and body["symbol"] == "BTC"
    sandbox.fault("coingecko", mode="status", status=502, path="/api/v3/coins/bitcoin")
    fallback = ok(api.get("/api/history/price/BTC", params={**params, "from": params["from"] + 1}))
    assert fallback["source"] == "binance" and fallback["provenance"]["notes"]
    assert all(p["market_cap"] is None and p["base_volume"] is not None for p in fallback["data"])
    for answer in (body, fallback):
        stamps = [p["timestamp"] for p in answer["data"]]
        assert stamps and stamps == sorted(stamps) and stamps[-1] <= now
        for point in answer["data"]:  # the close of the recorded candle that ends at the point's time
            assert point["price"] == closes[point["timestamp"]], (answer["source"], point)
        if interval == "1h":
            assert all(t % 3_600_000 == 0 for t in stamps) and len(stamps) >= 47
        elif interval == "1d":
            assert all(t % 86_400_000 == 0 for t in stamps) and len(stamps) >= 19
        else:
            assert all(datetime.fromtimestamp(t / 1000, UTC).day == 1 and t % 86_400_000 == 0 for t in stamps)
            assert len(stamps) >= 6
    assert [p["timestamp"] for p in body["data"]] == [p["timestamp"] for p in fallback["data"]]


def test_funding_and_fallback(api, sandbox, suite):
    premium = served(suite, "binance", "/fapi/v1/premiumIndex", symbol="BTCUSDT")
    body = ok(api.get("/api/derivatives/funding/BTC"))
    assert body["source"] == "binance" and body["contract"] == "BTC/USDT:USDT"
    assert body["funding_rate"] == float(premium["lastFundingRate"])
    assert body["mark_price"] == float(premium["markPrice"])
    sandbox.fault("binance", mode="status", status=500, path="/fapi/v1/premiumIndex")
    fallback = ok(api.get("/api/derivatives/funding/BTC-USDT"))
    okx = served(suite, "okx", "/api/v5/public/funding-rate", instId="BTC-USDT-SWAP")["data"][0]
    assert fallback["source"] == "okx" and fallback["funding_rate"] == float(okx["fundingRate"])
    assert (fallback["funding_time"], fallback["next_funding_time"]) == (int(okx["fundingTime"]),
                                                                          int(okx["nextFundingTime"]))


def test_open_interest_and_fallback(api, sandbox, suite):
    binance = recorded("binance/fapi_openInterest_BTCUSDT.json")
    body = ok(api.get("/api/derivatives/open-interest/BTC"))
    assert body["source"] == "binance" and body["open_interest"] == float(binance["openInterest"])
    assert body["unit"] == "BTC"
    sandbox.fault("binance", mode="delay", delay=4, path="/fapi/v1/openInterest")
    fallback = ok(api.get("/api/derivatives/open-interest/BTCUSDT"))
    okx = served(suite, "okx", "/api/v5/public/open-interest", instType="SWAP", instId="BTC-USDT-SWAP")["data"][0]
    assert fallback["source"] == "okx" and fallback["open_interest_value"] == float(okx["oiUsd"])
    # the same unit as Binance's: BTC (OKX's oiCcy), not OKX's contracts of 0.01 BTC
    assert (fallback["open_interest"], fallback["unit"]) == (float(okx["oiCcy"]), "BTC")
    assert fallback["value_currency"] == "USD"
    assert fallback["provenance"]["failed"][0]["code"] == "LATE"  # hedged: OKX answered while Binance hung


def test_consensus_is_the_median_of_every_source(api, quotes, prices):
    body = ok(api.get("/api/price/BTC"))
    assert body["symbol"] == "BTC" and body["source"] == "consensus"
    assert body["price"] == statistics.median(prices.values())
    assert {s["source"]: s["price"] for s in body["consensus"]["sources"]} == prices
    assert all(s["used"] and s["age_ms"] < 60_000 for s in body["consensus"]["sources"])
    assert body["consensus"]["spread"] == max(prices.values()) - min(prices.values())
    assert body["consensus"]["spread_pct"] < 1
    assert body["consensus"]["late"] == [] and body["consensus"]["failed"] == []
    assert body["high_24h"] == float(quotes["binance"]["highPrice"]) and body["stats_source"] == "binance"
    assert "high_24h" not in ok(api.get("/api/price/BTC", params={"include_24h": "false"}))


def test_a_slow_source_is_left_out_within_the_budget(api, sandbox, prices):
    sandbox.fault("kucoin", mode="delay", delay=4)
    started = time.perf_counter()
    body = ok(api.get("/api/price/BTC-USDT"))
    assert time.perf_counter() - started < 1.6  # the suite's 1 s budget, plus the hops
    assert body["consensus"]["late"] == ["kucoin"]
    others = [p for name, p in prices.items() if name != "kucoin"]
    assert body["price"] == statistics.median(others)
    assert any(f["source"] == "kucoin" and f["code"] == "LATE" for f in body["provenance"]["failed"])


def test_every_price_source_failing_is_stale_or_503(api, sandbox):
    cached = ok(api.get("/api/price/btc"))
    time.sleep(2.1)
    for upstream in ("binance", "kucoin", "okx", "coingecko"):
        sandbox.fault(upstream, mode="status", status=500)
    stale = ok(api.get("/api/price/btc"))
    assert stale["provenance"]["stale"] is True and stale["price"] == cached["price"]
    never = api.get("/api/price/BTCUSDT", params={"convert": "usd", "include_24h": "false"})
    assert never.status_code == 503 and never.json()["error"]["code"] == "UPSTREAM_UNAVAILABLE"


HOSTILE = ["BTC/", "/USDT", "BTC/USDT/USDT", "XYZ", "BTCC", "B T C", "БТЦ", "🚀", "BTC%00", "../../etc/passwd",
           "..", "BTC/USDT/EXTRA", "'; DROP TABLE x;--", "<script>", "A" * 300, "BTC\\USDT", "BTC:USDT",
           "%2e%2e%2f", "BTC/USDT?x=1", "BTC#", "  ", "NULL", "undefined", "0", "-1", "BTC/XYZ", "1e309",
           "BTC/USDT:USDT", "*", "BTC,ETH", "${jndi:ldap://x}"]


@pytest.mark.parametrize("endpoint", ["price", "ticker", "orderbook", "trades", "history/price",
                                      "derivatives/funding", "derivatives/open-interest"])
def test_hostile_symbols_are_4xx_envelopes(api, endpoint):
    params = {"from": 0, "to": 1} if endpoint == "history/price" else {}
    wrong = {}
    # Each input percent-encoded, as a client puts an arbitrary symbol in a path, and the slash forms that
    # survive path normalization raw (a raw `//USDT` reaches any server as `/USDT`, a fine symbol).
    sent = [quote(raw, safe="") for raw in HOSTILE] + ["BTC/", "BTC/USDT/USDT"]
    for raw in sent:
        response = api.get(f"/api/{endpoint}/{raw}", params=params)
        body = response.json()
        if not (400 <= response.status_code < 500 and body["success"] is False and body["error"]["code"]):
            wrong[raw] = (response.status_code, response.text[:120])
    assert not wrong


def test_a_stale_quote_and_an_outlier_are_left_out_and_say_why(api, sandbox, suite, prices):
    okx = served(suite, "okx", "/api/v5/market/ticker", instId="BTC-USDT")
    row = okx["data"][0]
    okx["data"][0] = {**row, **{k: str(float(row[k]) / 2) for k in ("last", "bidPx", "askPx")}}  # 50 % off
    kucoin = served(suite, "kucoin", "/api/v1/market/stats", symbol="BTC-USDT")
    kucoin["data"]["time"] = int(time.time() * 1000) - 10 * 60_000  # 10 minutes old
    sandbox.fault("okx", mode="status", status=200, body=okx, path="/api/v5/market/ticker")
    sandbox.fault("kucoin", mode="status", status=200, body=kucoin, path="/api/v1/market/stats")
    time.sleep(2.1)  # past the suite's 2 s price TTL
    body = ok(api.get("/api/price/BTC"))
    by_source = {s["source"]: s for s in body["consensus"]["sources"]}
    assert (by_source["okx"]["used"], by_source["okx"]["excluded"]) == (False, "outlier")
    assert (by_source["kucoin"]["used"], by_source["kucoin"]["excluded"]) == (False, "stale")
    assert by_source["kucoin"]["age_ms"] >= 600_000
    assert by_source["binance"]["used"] and by_source["coingecko"]["used"]
    assert body["price"] == statistics.median([prices["binance"], prices["coingecko"]])
    assert body["consensus"]["spread"] == abs(prices["binance"] - prices["coingecko"])
