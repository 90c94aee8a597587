"""The Dreammaker frontend's calls, as it makes them (its headers, its symbol spellings, its parameters),
through traefik: the market filters, the OHLCV path form, /api/health, unknown parameters named, and its
websocket protocol (docs/clients.md lists every call it makes)."""

import asyncio
import json
import time

import httpx
import pytest
import websockets

from contract import Contract

# What the frontend's clients send (src/services/DataService.ts, src/clients/crypto-api/crypto-client.ts).
FRONTEND = {"Accept": "application/json", "User-Agent": "DreammakerCrypto/1.0", "Authorization": "Bearer hf_token"}
MARKETS_PATH = "/api/v3/coins/markets"


@pytest.fixture
def frontend(suite, contract: Contract):
    with contract.client(suite.url("traefik"), headers=FRONTEND) as client:
        yield client


def symbols_of(body: dict) -> list[str]:
    return [item["symbol"] for item in body["items"]]


def test_the_market_list_filters_by_ticker_or_id_and_names_what_it_does_not_hold(frontend):
    body = frontend.get("/api/market", params={"limit": 10, "symbol": "BTC,ETH,SOL"}).json()
    assert symbols_of(body) == ["BTC", "ETH", "SOL"] and body["not_found"] == []  # in rank order
    assert [item["id"] for item in body["items"]] == ["bitcoin", "ethereum", "solana"]
    mixed = frontend.get("/api/market", params={"symbols": "eth,btc,XYZ"}).json()
    assert symbols_of(mixed) == ["BTC", "ETH"] and mixed["not_found"] == ["XYZ"]
    by_id = frontend.get("/api/market", params={"ids": "ethereum,no-such-coin"}).json()
    assert symbols_of(by_id) == ["ETH"] and by_id["not_found"] == ["no-such-coin"]
    # limit and sort apply after the filter
    cut = frontend.get("/api/market", params={"symbols": "BTC,ETH,SOL,XRP", "sort": "volume", "limit": 2}).json()
    ranked = sorted(frontend.get("/api/market", params={"symbols": "BTC,ETH,SOL,XRP"}).json()["items"],
                    key=lambda item: -item["volume_24h"])
    assert symbols_of(cut) == [item["symbol"] for item in ranked[:2]]


def test_filters_and_limits_cost_no_upstream_call_of_their_own(frontend, sandbox):
    time.sleep(2.2)  # past the suite's 2 s market TTL, in the gateway and in market-svc's page cache
    sandbox.reset_counts()
    frontend.get("/api/market", params={"limit": 3})
    calls = sandbox.count("coingecko", MARKETS_PATH)
    assert calls >= 1
    for index, params in enumerate([{"symbols": "BTC,ETH"}, {"symbol": "SOL"}, {"ids": "bitcoin"}, {"limit": 77},
                                    {"limit": 5, "sort": "volume"}, {"limit": 9, "sort": "price_change"},
                                    {"symbols": "XYZ,BTC", "limit": 1}, {"limit": 400}]):
        assert frontend.get("/api/market", params=params).status_code == 200, (index, params)
    assert sandbox.count("coingecko", MARKETS_PATH) == calls


def test_the_ohlcv_path_form_is_the_query_form_and_shares_its_cache_entry(frontend):
    query = frontend.get("/api/ohlcv", params={"symbol": "ETH", "timeframe": "1h", "limit": 7})
    path = frontend.get("/api/ohlcv/ETH", params={"timeframe": "1h", "limit": 7})
    assert path.headers["x-cache"] == "HIT"  # the query form's entry
    assert path.json()["data"] == query.json()["data"] and path.json()["symbol"] == "ETH/USDT"
    lower = frontend.get("/api/ohlcv/btcusdt", params={"timeframe": "1h", "limit": 100}).json()  # hfAPI's spelling
    assert lower["symbol"] == "BTC/USDT" and len(lower["data"]) == 100
    assert all(isinstance(c[k], (int, float)) for c in lower["data"] for k in ("t", "o", "h", "l", "c", "v"))


def test_health_under_api_in_spec_002s_words(frontend):
    body = frontend.get("/api/health").json()
    assert body["status"] == "healthy" and body["version"] and isinstance(body["timestamp"], int)
    assert frontend.get("/health").json()["status"] == "healthy"


def test_an_unknown_parameter_is_ignored_and_named(frontend):
    plain = frontend.get("/api/market", params={"limit": 4})
    extra = frontend.get("/api/market", params={"limit": 4, "timeframe": "1D", "order": "desc"})
    assert extra.headers["x-ignored-params"] == "order,timeframe" and "x-ignored-params" not in plain.headers
    assert symbols_of(extra.json()) == symbols_of(plain.json())


def test_the_frontends_readers_find_what_they_read(frontend):
    market = frontend.get("/api/market", params={"limit": 10, "symbol": "BTC,ETH,SOL"}).json()
    for item in market["items"]:  # DataService / DashboardDataService
        assert isinstance(item["symbol"], str) and isinstance(item["price"], (int, float))
        for field in ("change_24h", "volume_24h", "market_cap", "rank"):
            assert isinstance(item[field], (int, float)), field
    candles = frontend.get("/api/ohlcv", params={"symbol": "BTC", "timeframe": "1h", "limit": 100}).json()
    assert candles["success"] is True and len(candles["data"]) == 100  # CryptoAPI's {success, data[t,o,h,l,c,v]}
    assert all(isinstance(c[k], (int, float)) for c in candles["data"] for k in ("t", "o", "h", "l", "c", "v"))
    health = frontend.get("/api/health").json()
    assert health["status"] == "healthy" and health["version"] == "0.1.0"


async def test_the_frontends_websocket_form_gets_tickers_and_pongs(suite):
    httpx.post(suite.url("sandbox") + "/_sandbox/streams", json={"rate": 5}).raise_for_status()
    try:
        async with websockets.connect(suite.url("traefik").replace("http://", "ws://") + "/ws") as ws:
            await ws.recv()
            await ws.send(json.dumps({"action": "subscribe", "type": "market_data", "symbols": ["BTCUSDT"]}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 1))
            assert ack == {"type": "subscribed", "channel": "ticker", "symbols": ["BTC/USDT"]}
            update = json.loads(await asyncio.wait_for(ws.recv(), 1))
            assert update["channel"] == "ticker" and update["data"]["symbol"] == "BTC/USDT"
            for ping in ({"type": "ping"}, {"action": "ping"}):
                await ws.send(json.dumps(ping))
                while (answer := json.loads(await asyncio.wait_for(ws.recv(), 1))).get("type") != "pong":
                    assert answer.get("channel") == "ticker"
            await ws.send(json.dumps({"action": "subscribe", "type": "liquidation_risk", "symbols": ["BTCUSDT"]}))
            while (answer := json.loads(await asyncio.wait_for(ws.recv(), 1))).get("type") != "error":
                assert answer.get("channel") == "ticker"
            assert answer["error"]["code"] == "INVALID_CHANNEL"
            assert answer["error"]["details"]["example"]["channel"] == "ticker"  # the accepted form, named
    finally:
        httpx.post(suite.url("sandbox") + "/_sandbox/streams", json={"rate": 1})
