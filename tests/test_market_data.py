"""Every market endpoint of issue 3 through traefik: the recorded values served, and a fallback each."""

import statistics
import time
from urllib.parse import quote

import httpx
import pytest

from helpers import recorded

BTC_TICKER = recorded("binance/ticker_24hr_BTCUSDT.json")
KUCOIN_STATS = recorded("kucoin/market_stats_BTC-USDT.json")["data"]
OKX_TICKER = recorded("okx/market_ticker_BTC-USDT.json")["data"][0]
BITCOIN_ROW = next(r for r in recorded("coingecko/coins_markets_usd_per100_page1.json") if r["id"] == "bitcoin")


def ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and abs(body["timestamp"] - time.time() * 1000) < 60_000
    assert body["source"] and "provenance" in body
    return body


@pytest.mark.parametrize("spelling", ["BTC", "btc", "BTC/USDT", "btc/usdt", "BTC-USDT", "BTCUSDT", "btc_usdt"])
def test_every_spelling_reaches_the_same_ticker(api, spelling):
    body = ok(api.get(f"/api/ticker/{spelling}"))
    assert body["symbol"] == "BTC/USDT" and body["last"] == float(BTC_TICKER["lastPrice"])


def test_ticker_is_binances_and_falls_back_to_kucoin(api, sandbox):
    body = ok(api.get("/api/ticker/BTC/USDT"))
    assert body["source"] == "binance" and body["provenance"]["fallback"] is False
    assert (body["bid"], body["ask"], body["last"]) == (
        float(BTC_TICKER["bidPrice"]), float(BTC_TICKER["askPrice"]), float(BTC_TICKER["lastPrice"]))
    assert body["volume"] == float(BTC_TICKER["quoteVolume"])
    sandbox.fault("binance", mode="status", status=500, path="/api/v3/ticker")
    time.sleep(2.1)  # past the suite's 2 s price TTL
    fallback = ok(api.get("/api/ticker/BTC/USDT"))
    assert fallback["source"] == "kucoin" and fallback["last"] == float(KUCOIN_STATS["last"])
    assert fallback["provenance"]["failed"][0]["source"] == "binance"


def test_orderbook_levels_and_fallback(api, sandbox):
    book = recorded("binance/depth_BTCUSDT_limit10.json")
    body = ok(api.get("/api/orderbook/BTCUSDT", params={"limit": 5}))
    assert body["source"] == "binance" and body["symbol"] == "BTC/USDT"
    assert body["bids"] == [[float(p), float(a)] for p, a in book["bids"][:5]]
    assert body["asks"] == [[float(p), float(a)] for p, a in book["asks"][:5]]
    sandbox.fault("binance", mode="malformed", path="/api/v3/depth")
    fallback = ok(api.get("/api/orderbook/BTCUSDT", params={"limit": 2}))
    kucoin = recorded("kucoin/orderbook_level2_20_BTC-USDT.json")["data"]
    assert fallback["source"] == "kucoin" and fallback["bids"] == [[float(p), float(a)] for p, a in kucoin["bids"]]


def test_trades_and_fallback(api, sandbox):
    agg = recorded("binance/aggTrades_BTCUSDT.json")
    body = ok(api.get("/api/trades/BTC-USDT", params={"limit": 5}))
    assert body["source"] == "binance"
    assert [t["price"] for t in body["trades"]] == [float(t["p"]) for t in agg[-5:]]
    assert all(t["side"] in ("buy", "sell") for t in body["trades"])
    sandbox.fault("binance", mode="refuse")
    fallback = ok(api.get("/api/trades/BTC-USDT", params={"limit": 3}))
    kucoin = recorded("kucoin/trade_histories_BTC-USDT.json")["data"]
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
    sandbox.fault("coingecko", mode="status", status=500, path="/api/v3/global")
    time.sleep(2.1)
    fallback = ok(api.get("/api/stats"))
    assert fallback["source"] == "coingecko-markets" and fallback["provenance"]["notes"]
    assert fallback["global"]["total_market_cap"] == sum(c["market_cap"] for c in coins)


def test_dominance_and_fallback(api, sandbox):
    shares = recorded("coingecko/global.json")["data"]["market_cap_percentage"]
    body = ok(api.get("/api/stats/dominance"))
    assert body["dominance"]["BTC"] == round(shares["btc"], 4) and body["dominance"]["ETH"] == round(shares["eth"], 4)
    assert abs(sum(body["dominance"].values()) - 100) < 0.01
    sandbox.fault("coingecko", mode="status", status=503, path="/api/v3/global")
    time.sleep(2.1)
    fallback = ok(api.get("/api/stats/dominance"))
    assert fallback["source"] == "coingecko-markets" and "BTC" in fallback["dominance"]


def test_history_resamples_what_coingecko_served_and_falls_back_to_candles(api, sandbox, suite):
    now = int(time.time() * 1000)
    # Ending two hours back keeps the candle in progress (stamped "now" by the sandbox, so it moves
    # between market-svc's call and this test's) out of the comparison.
    start, end = now - 48 * 3_600_000, now - 2 * 3_600_000
    body = ok(api.get("/api/history/price/BTC", params={"from": start, "to": end, "interval": "1h"}))
    assert body["source"] == "coingecko" and body["interval"] == "1h" and body["symbol"] == "BTC"
    served = httpx.get(f"http://127.0.0.1:{suite.port('sandbox') + 1}/api/v3/coins/bitcoin/market_chart/range",
                       params={"vs_currency": "usd", "from": start // 1000, "to": end // 1000 + 1}).json()["prices"]
    for point in body["data"]:
        bucket = [p for t, p in served if point["timestamp"] <= t < point["timestamp"] + 3_600_000]
        assert point["price"] == bucket[-1]
    assert [p["timestamp"] - body["data"][0]["timestamp"] for p in body["data"]] == \
        [i * 3_600_000 for i in range(len(body["data"]))]
    sandbox.fault("coingecko", mode="status", status=502, path="/api/v3/coins/bitcoin")
    fallback = ok(api.get("/api/history/price/BTC", params={"from": start + 1, "to": end, "interval": "1h"}))
    assert fallback["source"] == "binance" and fallback["provenance"]["notes"]
    assert all(p["market_cap"] is None and p["base_volume"] is not None for p in fallback["data"])


def test_funding_and_fallback(api, sandbox):
    premium = recorded("binance/fapi_premiumIndex_BTCUSDT_ccxt_comment.json")
    body = ok(api.get("/api/derivatives/funding/BTC"))
    assert body["source"] == "binance" and body["contract"] == "BTC/USDT:USDT"
    assert body["funding_rate"] == float(premium["lastFundingRate"])
    assert body["mark_price"] == float(premium["markPrice"])
    sandbox.fault("binance", mode="status", status=500, path="/fapi/v1/premiumIndex")
    fallback = ok(api.get("/api/derivatives/funding/BTC-USDT"))
    history = recorded("okx/public_funding-rate-history_BTC-USDT-SWAP.json")["data"]
    newest = max(history, key=lambda r: int(r["fundingTime"]))
    assert fallback["source"] == "okx" and fallback["funding_rate"] == float(newest["fundingRate"])


def test_open_interest_and_fallback(api, sandbox):
    binance = recorded("binance/fapi_openInterest_BTCUSDT.json")
    body = ok(api.get("/api/derivatives/open-interest/BTC"))
    assert body["source"] == "binance" and body["open_interest"] == float(binance["openInterest"])
    sandbox.fault("binance", mode="delay", delay=4, path="/fapi/v1/openInterest")
    fallback = ok(api.get("/api/derivatives/open-interest/BTCUSDT"))
    okx = recorded("okx/public_open-interest_BTC-USDT-SWAP.json")["data"][0]
    assert fallback["source"] == "okx" and fallback["open_interest_value"] == float(okx["oiUsd"])
    assert fallback["provenance"]["failed"][0]["code"] == "LATE"  # hedged: OKX answered while Binance hung


PRICES = {"binance": float(BTC_TICKER["lastPrice"]), "kucoin": float(KUCOIN_STATS["last"]),
          "okx": float(OKX_TICKER["last"]), "coingecko": float(BITCOIN_ROW["current_price"])}


def test_consensus_is_the_median_of_every_source(api):
    body = ok(api.get("/api/price/BTC"))
    assert body["symbol"] == "BTC" and body["source"] == "consensus"
    assert body["price"] == statistics.median(PRICES.values())
    assert {s["source"]: s["price"] for s in body["consensus"]["sources"]} == PRICES
    assert body["consensus"]["spread"] == max(PRICES.values()) - min(PRICES.values())
    assert body["consensus"]["late"] == [] and body["consensus"]["failed"] == []
    assert body["high_24h"] == float(BTC_TICKER["highPrice"]) and body["stats_source"] == "binance"
    assert "high_24h" not in ok(api.get("/api/price/BTC", params={"include_24h": "false"}))


def test_a_slow_source_is_left_out_within_the_budget(api, sandbox):
    sandbox.fault("kucoin", mode="delay", delay=4)
    started = time.perf_counter()
    body = ok(api.get("/api/price/BTC-USDT"))
    assert time.perf_counter() - started < 1.6  # the suite's 1 s budget, plus the hops
    assert body["consensus"]["late"] == ["kucoin"]
    others = [p for name, p in PRICES.items() if name != "kucoin"]
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
