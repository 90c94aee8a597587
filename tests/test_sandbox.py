"""The sandbox speaks the upstream APIs to real clients (ccxt, httpx) and injects faults on request."""

import asyncio
import csv
import itertools
import json
import random
import socket
import subprocess
import sys
import time
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import ccxt.async_support as ccxt_async
import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus

from dm_shared.errors import UpstreamRateLimitedError
from dm_shared.guard import Guard
from dm_shared.upstream import UpstreamClient

from market_svc.adapters.cmc import CoinMarketCapAdapter
from market_svc.adapters.coinpaprika import CoinPaprikaAdapter
from sandbox.ports import OFFSETS

DATA = Path(__file__).resolve().parents[1] / "sandbox" / "data"
HOUR = 3_600_000
SPOT_ONLY = {"fetchMarkets": {"types": ["spot"]}}
# What market-svc loads: spot plus the perpetuals it reads funding rate and open interest from.
OKX_SPOT_SWAP = {"fetchMarkets": {"types": ["spot", "swap"]}}
BINANCE_SPOT_LINEAR = {"fetchMarkets": {"types": ["spot", "linear"]}}


def _free_port_base() -> int:
    for _ in range(100):
        base = random.randint(20_000, 60_000)
        sockets = []
        try:
            for offset in OFFSETS.values():
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return base
    raise RuntimeError("no free port range")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory):
    """A sandbox process on free ports; yields its base URLs."""
    base = _free_port_base()
    log = (tmp_path_factory.mktemp("sandbox") / "sandbox.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port-base", str(base)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    urls = {name: f"http://127.0.0.1:{base + offset}" for name, offset in OFFSETS.items()}
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, "sandbox exited during startup"
            try:
                if httpx.get(urls["control"] + "/_sandbox/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "sandbox not ready in time"
            time.sleep(0.05)
        yield urls
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def control(sandbox):
    """Control client; faults and counters are cleared before each test."""
    with httpx.Client(base_url=sandbox["control"], timeout=5) as client:
        assert client.delete("/_sandbox/faults").status_code == 200
        assert client.delete("/_sandbox/requests").status_code == 200
        yield client
        client.delete("/_sandbox/faults")


def point_at(urls, base: str):
    """Replace scheme and host of every URL in ccxt's nested `urls['api']` with base, keeping paths."""
    if isinstance(urls, dict):
        return {key: point_at(value, base) for key, value in urls.items()}
    if isinstance(urls, str) and urlsplit(urls).scheme in ("http", "https"):
        return base + urlsplit(urls).path
    return urls


def recorded(relative: str):
    return json.loads((DATA / relative).read_text())


@cache
def _csv_rows(symbol: str) -> tuple[dict[str, str], ...]:
    with (DATA / "history" / f"{symbol}_1h.csv").open(newline="") as fh:
        return tuple(csv.DictReader(fh))


def csv_rows(symbol: str) -> list[dict[str, str]]:
    return [dict(row) for row in _csv_rows(symbol)]


def hour_start(ms: int) -> int:
    return ms - ms % HOUR


def now_ms() -> int:
    return int(time.time() * 1000)


def assert_latest_hour(latest_open: int, before: int, after: int) -> None:
    """The latest candle opens at the start of the current UTC hour (either side of a boundary crossed mid-test)."""
    assert latest_open in {hour_start(before), hour_start(after)}


def as_numbers(row: dict[str, str]) -> list[float]:
    return [float(row[k]) for k in ("o", "h", "l", "c", "v")]


# The one market every venue serves, computed by hand from the CSV (the shifted history always ends with its last
# row as the candle in progress, so these figures do not depend on the hour; only the times do).
E8 = Decimal("1e-8")
DAY = 24 * HOUR
PAIRS = {"BTCUSDT": ("BTC/USDT", "BTC-USDT", "bitcoin"), "ETHUSDT": ("ETH/USDT", "ETH-USDT", "ethereum")}


def current(symbol: str) -> Decimal:
    """The current price: close of the candle in progress (the CSV's last row)."""
    return Decimal(_csv_rows(symbol)[-1]["c"])


def day(symbol: str) -> dict[str, Decimal]:
    """24-hour figures over the last 24 hourly rows; quote volume = sum of volume x close."""
    rows = _csv_rows(symbol)
    window = rows[-24:]
    figures = {
        "last": Decimal(window[-1]["c"]), "open": Decimal(window[0]["o"]),
        "high": max(Decimal(r["h"]) for r in window), "low": min(Decimal(r["l"]) for r in window),
        "prev_close": Decimal(rows[-25]["c"]), "volume": sum(Decimal(r["v"]) for r in window),
        "quote_volume": sum(Decimal(r["v"]) * Decimal(r["c"]) for r in window),
    }
    figures["change"] = figures["last"] - figures["open"]
    return figures


def moved(value, reference, symbol: str) -> Decimal:
    """A recorded price at the current price level: current x value / reference, to 8 decimals."""
    return (current(symbol) * Decimal(value) / Decimal(reference)).quantize(E8)


def f8(value: Decimal) -> str:
    return f"{value:.8f}"


def plain(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def within(stamp: int, before: int, after: int) -> bool:
    return before <= stamp <= after


def recorded_mid(book: dict) -> Decimal:
    return (Decimal(book["bids"][0][0]) + Decimal(book["asks"][0][0])) / 2


def assert_repriced_book(served: dict, book: dict, symbol: str, fmt=f8, limit: int | None = None) -> None:
    """Each served level: the recorded level's relative distance from the recorded mid, around the current
    price, with the recorded quantity (and further fields)."""
    mid = recorded_mid(book)
    for side in ("bids", "asks"):
        levels = book[side][:limit]
        assert served[side] == [[fmt(moved(level[0], mid, symbol)), *level[1:]] for level in levels], side
        assert len(served[side]) == len(levels)


def repriced_floats(book: dict, symbol: str, limit: int | None = None) -> dict[str, list[list[float]]]:
    """The re-priced book as ccxt parses it: [price, quantity] floats."""
    mid = recorded_mid(book)
    return {side: [[float(moved(level[0], mid, symbol)), float(level[1])] for level in book[side][:limit]]
            for side in ("bids", "asks")}


def next_funding(now: int) -> int:
    return now - now % (8 * HOUR) + 8 * HOUR


async def _exercise(exchange_id: str, base: str, control: httpx.Client, options: dict = SPOT_ONLY,
                    extra: tuple[tuple[str, tuple], ...] = ()) -> dict:
    exchange = getattr(ccxt_async, exchange_id)({"options": options})
    exchange.urls["api"] = point_at(exchange.urls["api"], base)
    try:
        await exchange.load_markets()
        load_calls = control.get("/_sandbox/requests").json()
        before = now_ms()
        ohlcv = await exchange.fetch_ohlcv("BTC/USDT", "1h", limit=5)
        after = now_ms()
        ticker = await exchange.fetch_ticker("BTC/USDT")
        results = {name: await getattr(exchange, name)(*args) for name, args in extra}
        return {"markets": exchange.markets, "load_calls": load_calls, "ohlcv": ohlcv, "ticker": ticker,
                "before": before, "after": after, "done": now_ms(), **results}
    finally:
        await exchange.close()


def binance_ticker(symbol: str, now: int) -> dict:
    """Binance ticker/24hr at now by hand: prices from the history, bid/ask at the recorded ratio to the recorded
    last price, the other fields as recorded (ints as numbers)."""
    rec = recorded("binance/ticker_24hr_BTCUSDT.json")
    d = day(symbol)
    return {
        "symbol": symbol, "priceChange": f8(d["change"]), "priceChangePercent": f"{d['change'] / d['open'] * 100:.3f}",
        "weightedAvgPrice": f8((d["quote_volume"] / d["volume"]).quantize(E8)), "prevClosePrice": f8(d["prev_close"]),
        "lastPrice": f8(d["last"]), "lastQty": rec["lastQty"],
        "bidPrice": f8(moved(rec["bidPrice"], rec["lastPrice"], symbol)), "bidQty": rec["bidQty"],
        "askPrice": f8(moved(rec["askPrice"], rec["lastPrice"], symbol)), "askQty": rec["askQty"],
        "openPrice": f8(d["open"]), "highPrice": f8(d["high"]), "lowPrice": f8(d["low"]), "volume": f8(d["volume"]),
        "quoteVolume": f8(d["quote_volume"]), "openTime": now - DAY, "closeTime": now,
        "firstId": int(rec["firstId"]), "lastId": int(rec["lastId"]), "count": int(rec["count"]),
    }


def kucoin_stats(pair: str, symbol: str, now: int) -> dict:
    """KuCoin market/stats data at now by hand: prices and volumes from the history, buy/sell at the recorded ratio
    to the recorded last, changeRate a fraction with 4 decimals, averagePrice = quote / base volume, fees recorded."""
    rec = recorded("kucoin/market_stats_BTC-USDT.json")["data"]
    d = day(symbol)
    return {**rec, "time": now, "symbol": pair, "buy": plain(moved(rec["buy"], rec["last"], symbol)),
            "sell": plain(moved(rec["sell"], rec["last"], symbol)),
            "changeRate": plain((d["change"] / d["open"]).quantize(Decimal("0.0001"))),
            "changePrice": plain(d["change"]), "high": plain(d["high"]), "low": plain(d["low"]),
            "vol": plain(d["volume"]), "volValue": plain(d["quote_volume"]), "last": plain(d["last"]),
            "averagePrice": plain((d["quote_volume"] / d["volume"]).quantize(E8))}


def okx_ticker(inst: str, symbol: str, now: int) -> dict:
    """OKX SPOT ticker at now by hand: prices and volumes from the history (volCcy24h = quote), bid/ask at the
    recorded ratio to the recorded last, sodUtc0/8 = opens of the hourly candles at the latest 00:00 UTC and
    00:00 UTC+8, sizes as recorded."""
    rec = recorded("okx/market_ticker_BTC-USDT.json")["data"][0]
    d = day(symbol)
    rows = _csv_rows(symbol)

    def start_of_day(offset_hours: int) -> str:
        hours_since = (now + offset_hours * HOUR) % DAY // HOUR  # the current candle is the CSV's last row
        return plain(Decimal(rows[-1 - hours_since]["o"]))

    return {**rec, "instId": inst, "last": plain(d["last"]),
            "askPx": plain(moved(rec["askPx"], rec["last"], symbol)),
            "bidPx": plain(moved(rec["bidPx"], rec["last"], symbol)), "open24h": plain(d["open"]),
            "high24h": plain(d["high"]), "low24h": plain(d["low"]), "volCcy24h": plain(d["quote_volume"]),
            "vol24h": plain(d["volume"]), "ts": str(now), "sodUtc0": start_of_day(0), "sodUtc8": start_of_day(8)}


def assert_ohlcv_is_shifted_csv(result: dict) -> None:
    rows = csv_rows("BTCUSDT")
    ohlcv = result["ohlcv"]
    assert len(ohlcv) == 5
    assert [c[1:] for c in ohlcv] == [as_numbers(r) for r in rows[-5:]]
    assert_latest_hour(ohlcv[-1][0], result["before"], result["after"])
    shift = ohlcv[-1][0] - int(rows[-1]["t"])
    assert shift % HOUR == 0
    assert [c[0] for c in ohlcv] == [int(r["t"]) + shift for r in rows[-5:]]


def test_ccxt_binance_spot_markets_ohlcv_ticker(sandbox, control):
    result = asyncio.run(_exercise("binance", sandbox["binance"], control))
    assert result["load_calls"] == {"total": 1, "by_upstream": {"binance": {"/api/v3/exchangeInfo": 1}}}
    assert set(result["markets"]) == {"BTC/USDT", "ETH/USDT"}
    assert result["markets"]["BTC/USDT"]["precision"]["price"] == 0.01  # tickSize of the recorded PRICE_FILTER
    assert_ohlcv_is_shifted_csv(result)
    ticker = result["ticker"]
    assert ticker["symbol"] == "BTC/USDT"
    assert ticker["info"] == binance_ticker("BTCUSDT", ticker["timestamp"])  # the derivation, field by field
    assert ticker["last"] == float(current("BTCUSDT"))
    assert within(ticker["timestamp"], result["after"], result["done"])
    assert control.get("/_sandbox/requests").json()["by_upstream"]["binance"] == {
        "/api/v3/exchangeInfo": 1, "/api/v3/klines": 1, "/api/v3/ticker/24hr": 1}


def test_ccxt_kucoin_spot_markets_ohlcv_ticker(sandbox, control):
    result = asyncio.run(_exercise("kucoin", sandbox["kucoin"], control))
    assert result["load_calls"]["by_upstream"] == {"kucoin": {
        "/api/v1/market/allTickers": 1, "/api/v2/symbols": 1, "/api/v3/currencies": 1}}
    assert set(result["markets"]) == {"BTC/USDT", "ETH/USDT"}
    assert result["markets"]["BTC/USDT"]["precision"]["price"] == 0.1
    assert_ohlcv_is_shifted_csv(result)
    ticker = result["ticker"]
    assert ticker["info"] == kucoin_stats("BTC-USDT", "BTCUSDT", ticker["timestamp"])
    assert ticker["last"] == float(current("BTCUSDT"))
    assert within(ticker["timestamp"], result["after"], result["done"])


def test_ccxt_okx_spot_swap_markets_data_and_derivatives(sandbox, control):
    extra = (("fetch_order_book", ("BTC/USDT",)), ("fetch_trades", ("BTC/USDT",)),
             ("fetch_funding_rate", ("BTC/USDT:USDT",)), ("fetch_open_interest", ("BTC/USDT:USDT",)))
    result = asyncio.run(_exercise("okx", sandbox["okx"], control, OKX_SPOT_SWAP, extra))
    assert result["load_calls"] == {"total": 2, "by_upstream": {"okx": {"/api/v5/public/instruments": 2}}}
    markets = result["markets"]
    assert set(markets) == {"BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT"}
    assert markets["BTC/USDT"]["spot"] and markets["BTC/USDT"]["precision"]["price"] == 0.1
    assert markets["BTC/USDT:USDT"]["linear"] and markets["BTC/USDT:USDT"]["contractSize"] == 0.01
    assert_ohlcv_is_shifted_csv(result)

    window = (result["after"], result["done"])
    ticker = result["ticker"]
    assert ticker["info"] == okx_ticker("BTC-USDT", "BTCUSDT", ticker["timestamp"])
    assert ticker["last"] == float(current("BTCUSDT")) and within(ticker["timestamp"], *window)
    book = recorded("okx/market_books_BTC-USDT_sz2.json")["data"][0]
    order_book = result["fetch_order_book"]
    assert {side: [level[:2] for level in order_book[side]] for side in ("bids", "asks")} == repriced_floats(
        book, "BTCUSDT")
    assert all(level[2] == 0 for side in ("bids", "asks") for level in order_book[side])
    assert within(order_book["timestamp"], *window)
    trades = recorded("okx/market_trades_BTC-USDT.json")["data"]
    assert sorted(t["id"] for t in result["fetch_trades"]) == sorted(t["tradeId"] for t in trades)
    assert {t["id"]: t["price"] for t in result["fetch_trades"]} == {
        t["tradeId"]: float(moved(t["px"], trades[0]["px"], "BTCUSDT")) for t in trades}  # data[0] is the newest
    assert within(max(t["timestamp"] for t in result["fetch_trades"]), *window)

    newest, _previous = recorded("okx/public_funding-rate-history_BTC-USDT-SWAP.json")["data"]
    funding = result["fetch_funding_rate"]
    assert funding["symbol"] == "BTC/USDT:USDT" and funding["fundingRate"] == float(newest["fundingRate"])
    assert funding["fundingTimestamp"] in {next_funding(t) for t in window}  # the upcoming 00/08/16 UTC settlement
    assert funding["nextFundingTimestamp"] - funding["fundingTimestamp"] == 8 * HOUR
    assert funding["interval"] == "8h"
    oi = recorded("okx/public_open-interest_BTC-USDT-SWAP.json")["data"][0]
    interest = result["fetch_open_interest"]
    assert interest["openInterestAmount"] == float(oi["oi"])  # contracts, as recorded
    assert interest["openInterestValue"] == float(Decimal(oi["oiCcy"]) * current("BTCUSDT"))  # oiCcy x price
    assert within(interest["timestamp"], *window)
    assert control.get("/_sandbox/requests").json()["by_upstream"]["okx"] == {
        "/api/v5/market/books": 1, "/api/v5/market/candles": 1, "/api/v5/market/ticker": 1,
        "/api/v5/market/trades": 1, "/api/v5/public/funding-rate": 1, "/api/v5/public/instruments": 2,
        "/api/v5/public/open-interest": 1}


def test_ccxt_binance_linear_markets_funding_open_interest(sandbox, control):
    extra = (("fetch_funding_rate", ("BTC/USDT:USDT",)), ("fetch_open_interest", ("BTC/USDT:USDT",)),
             ("fetch_order_book", ("BTC/USDT:USDT", 5)))
    result = asyncio.run(_exercise("binance", sandbox["binance"], control, BINANCE_SPOT_LINEAR, extra))
    assert result["load_calls"] == {"total": 2, "by_upstream": {"binance": {
        "/api/v3/exchangeInfo": 1, "/fapi/v1/exchangeInfo": 1}}}
    markets = result["markets"]
    assert set(markets) == {"BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT"}
    assert markets["BTC/USDT:USDT"]["linear"] and markets["BTC/USDT:USDT"]["precision"]["price"] == 0.1
    assert_ohlcv_is_shifted_csv(result)

    premium = recorded("binance/fapi_premiumIndex_BTCUSDT_ccxt_comment.json")
    funding = result["fetch_funding_rate"]
    assert funding["fundingRate"] == float(premium["lastFundingRate"])
    # The index is the current price; mark at its recorded ratio to the recorded index.
    assert funding["indexPrice"] == float(current("BTCUSDT"))
    assert funding["markPrice"] == float(moved(premium["markPrice"], premium["indexPrice"], "BTCUSDT"))
    assert funding["estimatedSettlePrice"] == float(
        moved(premium["estimatedSettlePrice"], premium["indexPrice"], "BTCUSDT"))
    assert within(funding["timestamp"], result["after"], result["done"])
    assert funding["fundingTimestamp"] == next_funding(funding["timestamp"])  # the next 00/08/16 UTC settlement
    oi = recorded("binance/fapi_openInterest_BTCUSDT.json")
    interest = result["fetch_open_interest"]
    assert interest["openInterestAmount"] == float(oi["openInterest"])
    assert within(interest["timestamp"], result["after"], result["done"])
    depth = recorded("binance/fapi_depth_BTCUSDT_limit5.json")
    book = result["fetch_order_book"]
    assert {side: book[side] for side in ("bids", "asks")} == repriced_floats(depth, "BTCUSDT")
    assert book["nonce"] == int(depth["lastUpdateId"])
    lag = int(depth["E"]) - int(depth["T"])  # T (transaction time, what ccxt reads) keeps its recorded lag behind E
    assert within(book["timestamp"] + lag, result["after"], result["done"])
    by_path = control.get("/_sandbox/requests").json()["by_upstream"]["binance"]
    assert by_path["/fapi/v1/premiumIndex"] == 1 and by_path["/fapi/v1/openInterest"] == 1
    with httpx.Client(base_url=sandbox["binance"], timeout=5) as client:
        eth = client.get("/fapi/v1/openInterest", params={"symbol": "ETHUSDT"})
        assert (eth.status_code, eth.json()) == (400, {"code": -1121, "msg": "Invalid symbol."})
        assert isinstance(client.get("/fapi/v1/premiumIndex").json(), list)


def test_okx_candles_layout_and_paging(sandbox, control):
    eth = csv_rows("ETHUSDT")
    with httpx.Client(base_url=sandbox["okx"], timeout=5) as client:
        def candles(**params):
            body = client.get("/api/v5/market/candles", params=params).json()
            assert body["code"] == "0", body
            return body["data"]

        rows = candles(instId="ETH-USDT", bar="1H", limit=3)
        assert [r[1:6] for r in rows] == [[r[k] for k in "ohlcv"] for r in eth[:-4:-1]]  # newest first, exact
        assert [r[6:] for r in rows] == [["0", "0", "0"], ["0", "0", "1"], ["0", "0", "1"]]
        assert_latest_hour(int(rows[0][0]), now_ms() - HOUR, now_ms())
        older = candles(instId="ETH-USDT", bar="1H", limit=2, after=rows[1][0])
        assert [r[0] for r in older] == [rows[2][0], str(int(rows[2][0]) - HOUR)]
        window = candles(instId="ETH-USDT", bar="1H", before=rows[2][0], after=rows[0][0])
        assert [r[0] for r in window] == [rows[1][0]]  # both bounds exclusive
        utc_days = candles(instId="BTC-USDT", bar="1Dutc", limit=2)
        assert all(int(r[0]) % 86_400_000 == 0 for r in utc_days)
        hk_days = candles(instId="BTC-USDT", bar="1D", limit=2)
        assert all(int(r[0]) % 86_400_000 == 16 * HOUR for r in hk_days)  # 00:00 in UTC+8
        history = client.get("/api/v5/market/history-candles",
                             params={"instId": "BTC-USDT", "bar": "1H", "limit": 500}).json()["data"]
        assert len(history) == 100
        assert candles(instId="BTC-USDT-SWAP", bar="1m") == recorded("okx/market_candles_BTC-USDT-SWAP.json")["data"]
        unknown = client.get("/api/v5/market/ticker", params={"instId": "SOL-USDT"}).json()
        assert unknown["code"] == "51001" and unknown["data"] == []
        assert client.get("/api/v5/market/candles", params={"instId": "BTC-USDT", "bar": "7H"}).status_code == 400
        # The recorded settlements, moved by whole 8-hour periods so the newest is the latest one before now.
        before = now_ms()
        history_rates = client.get("/api/v5/public/funding-rate-history", params={"instId": "BTC-USDT-SWAP"}).json()
        rates = recorded("okx/public_funding-rate-history_BTC-USDT-SWAP.json")
        times = [int(r["fundingTime"]) for r in history_rates["data"]]
        assert times[0] in {next_funding(t) - 8 * HOUR for t in (before, now_ms())}
        shift = times[0] - int(rates["data"][0]["fundingTime"])
        assert history_rates == {**rates, "data": [{**r, "fundingTime": str(int(r["fundingTime"]) + shift)}
                                                   for r in rates["data"]]}
        books = client.get("/api/v5/market/books", params={"instId": "BTC-USDT-SWAP", "sz": 1}).json()["data"][0]
        assert len(books["asks"]) == len(books["bids"]) == 1


def test_okx_tickers_books_trades_and_swap_data_follow_the_history(sandbox, control):
    trades_rec = recorded("okx/market_trades_BTC-USDT.json")["data"]
    with httpx.Client(base_url=sandbox["okx"], timeout=5) as client:
        def data(path, **params):
            body = client.get(path, params=params).json()
            assert body["code"] == "0", body
            return body["data"]

        for symbol, (_, inst, _) in PAIRS.items():  # ETH-USDT: the BTC-USDT recordings' sizes and ids
            before = now_ms()
            [ticker] = data("/api/v5/market/ticker", instId=inst)
            assert within(int(ticker["ts"]), before, now_ms())
            assert ticker == okx_ticker(inst, symbol, int(ticker["ts"]))
            before = now_ms()
            [book] = data("/api/v5/market/books", instId=inst, sz=2)
            assert within(int(book["ts"]), before, now_ms())
            assert_repriced_book(book, recorded("okx/market_books_BTC-USDT_sz2.json")["data"][0], symbol, plain)
            before = now_ms()
            trades = data("/api/v5/market/trades", instId=inst)
            after = now_ms()
            assert [t["px"] for t in trades] == [plain(moved(t["px"], trades_rec[0]["px"], symbol)) for t in trades_rec]
            assert [{k: v for k, v in t.items() if k not in ("px", "ts")} for t in trades] == [
                {**{k: v for k, v in t.items() if k not in ("px", "ts")}, "instId": inst} for t in trades_rec]
            assert_retimed([int(t["ts"]) for t in trades], [int(t["ts"]) for t in trades_rec], before, after)
            assert len(data("/api/v5/market/trades", instId=inst, limit=1)) == 1

        before = now_ms()
        listing = data("/api/v5/market/tickers", instType="SPOT")
        assert [t["instId"] for t in listing] == ["BTC-USDT", "ETH-USDT"]
        assert within(int(listing[0]["ts"]), before, now_ms())
        stamp = int(listing[0]["ts"])
        assert listing == [okx_ticker(inst, symbol, stamp) for symbol, (_, inst, _) in PAIRS.items()]

        before = now_ms()
        [swap_book] = data("/api/v5/market/books", instId="BTC-USDT-SWAP", sz=2)
        assert within(int(swap_book["ts"]), before, now_ms())
        assert_repriced_book(swap_book, recorded("okx/market_books_BTC-USDT-SWAP_sz2.json")["data"][0], "BTCUSDT",
                             plain)
        before = now_ms()
        [funding] = data("/api/v5/public/funding-rate", instId="BTC-USDT-SWAP")
        newest = recorded("okx/public_funding-rate-history_BTC-USDT-SWAP.json")["data"][0]
        assert int(funding["fundingTime"]) in {next_funding(t) for t in (before, now_ms())}
        assert funding == {"fundingRate": newest["fundingRate"], "fundingTime": funding["fundingTime"],
                           "instId": "BTC-USDT-SWAP", "instType": "SWAP",
                           "nextFundingTime": str(int(funding["fundingTime"]) + 8 * HOUR)}
        oi_rec = recorded("okx/public_open-interest_BTC-USDT-SWAP.json")["data"][0]
        for params in ({"instType": "SWAP", "instId": "BTC-USDT-SWAP"}, {"instType": "SWAP", "uly": "BTC-USDT"}):
            before = now_ms()
            [oi] = data("/api/v5/public/open-interest", **params)
            assert within(int(oi["ts"]), before, now_ms())
            assert oi == {**oi_rec, "oiUsd": plain(Decimal(oi_rec["oiCcy"]) * current("BTCUSDT")), "ts": oi["ts"]}
        eth_swap = client.get("/api/v5/public/funding-rate", params={"instId": "ETH-USDT-SWAP"}).json()
        assert eth_swap["code"] == "51001"  # the derivatives stay BTC only


def test_binance_klines_semantics(sandbox, control):
    with httpx.Client(base_url=sandbox["binance"], timeout=5) as client:
        latest = client.get("/api/v3/klines", params={"symbol": "ETHUSDT", "interval": "1h", "limit": 3}).json()
        assert len(latest) == 3 and all(len(row) == 12 for row in latest)
        eth = csv_rows("ETHUSDT")
        assert [row[1:6] for row in latest] == [[r[k] for k in "ohlcv"] for r in eth[-3:]]  # exact strings
        assert latest[-1][6:] == [latest[-1][0] + HOUR - 1, "0", 0, "0", "0", "0"]
        start = latest[0][0]
        page = client.get("/api/v3/klines", params={"symbol": "ETHUSDT", "interval": "1h", "startTime": start,
                                                    "endTime": start + HOUR, "limit": 10}).json()
        assert [row[0] for row in page] == [start, start + HOUR]  # both bounds inclusive
        assert len(client.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1h",
                                                        "limit": 5000}).json()) == 1000
        weeks = client.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1w", "limit": 3}).json()
        assert all(time.gmtime(row[0] / 1000).tm_wday == 0 and row[0] % 86_400_000 == 0 for row in weeks)
        days = client.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1d", "limit": 2}).json()
        hours = client.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1h",
                                                     "startTime": days[0][0], "endTime": days[0][6]}).json()
        assert len(hours) == 24
        assert days[0][1] == hours[0][1] and days[0][4] == hours[-1][4]
        assert Decimal(days[0][2]) == max(Decimal(h[2]) for h in hours)
        assert Decimal(days[0][3]) == min(Decimal(h[3]) for h in hours)
        assert Decimal(days[0][5]) == sum(Decimal(h[5]) for h in hours)
        minute = client.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m"}).json()
        assert len(minute) == 10 and minute[-1][0] // 60_000 in {now_ms() // 60_000, now_ms() // 60_000 - 1}
        bad = client.get("/api/v3/klines", params={"symbol": "DOGEUSDT", "interval": "1h"})
        assert (bad.status_code, bad.json()) == (400, {"code": -1121, "msg": "Invalid symbol."})
        assert client.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "7h"}).json()["code"] == -1120
        ticker = client.get("/api/v3/ticker/24hr", params={"symbol": "BTCUSDT"}).json()
        assert isinstance(ticker["count"], int) and isinstance(ticker["openTime"], int)
        assert isinstance(client.get("/api/v3/ticker/24hr").json(), list)
        info = client.get("/api/v3/exchangeInfo", params={"symbol": "ETHUSDT"}).json()
        assert [s["symbol"] for s in info["symbols"]] == ["ETHUSDT"]


def assert_retimed(served_times: list[int], recorded_times: list[int], before: int, after: int) -> None:
    """Recorded trade times moved so the newest is now (within the request), spacing kept."""
    offset = served_times[recorded_times.index(max(recorded_times))] - max(recorded_times)
    assert within(max(recorded_times) + offset, before, after)
    assert served_times == [t + offset for t in recorded_times]


def test_binance_tickers_books_and_trades_follow_the_history(sandbox, control):
    depth_rec = recorded("binance/depth_BTCUSDT_limit10.json")
    trades_rec = recorded("binance/trades_BTCUSDT.json")
    agg_rec = recorded("binance/aggTrades_BTCUSDT.json")
    with httpx.Client(base_url=sandbox["binance"], timeout=5) as client:
        def get(path, **params):
            response = client.get(path, params=params)
            assert response.status_code == 200, response.text
            return response.json()

        for symbol in ("BTCUSDT", "ETHUSDT"):  # ETHUSDT: the BTCUSDT recordings' quantities and ids
            before = now_ms()
            ticker = get("/api/v3/ticker/24hr", symbol=symbol)
            after = now_ms()
            assert within(ticker["closeTime"], before, after)
            assert ticker == binance_ticker(symbol, ticker["closeTime"])
            assert Decimal(ticker["lastPrice"]) == current(symbol)
            assert get("/api/v3/ticker/price", symbol=symbol) == {"symbol": symbol, "price": ticker["lastPrice"]}
            assert get("/api/v3/ticker/bookTicker", symbol=symbol) == {
                k: ticker[k] for k in ("symbol", "bidPrice", "bidQty", "askPrice", "askQty")}
            assert_repriced_book(get("/api/v3/depth", symbol=symbol, limit=4), depth_rec, symbol, limit=4)
            assert get("/api/v3/depth", symbol=symbol)["lastUpdateId"] == depth_rec["lastUpdateId"]

            before = now_ms()
            trades = get("/api/v3/trades", symbol=symbol)
            after = now_ms()
            newest = trades_rec[-1]["price"]
            for trade, rec in zip(trades, trades_rec, strict=True):
                price = moved(rec["price"], newest, symbol)
                assert (trade["id"], trade["qty"], trade["isBuyerMaker"], trade["isBestMatch"]) == (
                    rec["id"], rec["qty"], rec["isBuyerMaker"], rec["isBestMatch"])
                quote_qty = (price * Decimal(rec["qty"])).quantize(E8)
                assert (trade["price"], trade["quoteQty"]) == (f8(price), f8(quote_qty))
            assert trades[-1]["price"] == f8(current(symbol))  # the newest trade is at the current price
            assert_retimed([t["time"] for t in trades], [t["time"] for t in trades_rec], before, after)

            before = now_ms()
            agg = get("/api/v3/aggTrades", symbol=symbol)
            after = now_ms()
            assert [{k: v for k, v in t.items() if k not in ("p", "T")} for t in agg] == [
                {k: v for k, v in t.items() if k not in ("p", "T")} for t in agg_rec]
            assert [t["p"] for t in agg] == [f8(moved(t["p"], agg_rec[-1]["p"], symbol)) for t in agg_rec]
            assert_retimed([t["T"] for t in agg], [t["T"] for t in agg_rec], before, after)
            since = get("/api/v3/aggTrades", symbol=symbol, startTime=agg[5]["T"])
            assert [t["a"] for t in since] == [t["a"] for t in agg[5:]]

        both = get("/api/v3/ticker/24hr")
        assert [t["symbol"] for t in both] == ["BTCUSDT", "ETHUSDT"]
        assert [t["symbol"] for t in get("/api/v3/ticker/price", symbols='["ETHUSDT"]')] == ["ETHUSDT"]
        bad = client.get("/api/v3/ticker/24hr", params={"symbol": "DOGEUSDT"})
        assert (bad.status_code, bad.json()) == (400, {"code": -1121, "msg": "Invalid symbol."})


def test_kucoin_candles_newest_first(sandbox, control):
    now_s = now_ms() // 1000
    with httpx.Client(base_url=sandbox["kucoin"], timeout=5) as client:
        body = client.get("/api/v1/market/candles", params={"symbol": "ETH-USDT", "type": "1hour",
                                                            "startAt": now_s - 3 * 3600, "endAt": now_s}).json()
    eth = csv_rows("ETHUSDT")
    assert body["code"] == "200000"
    assert [row[1:] for row in body["data"]] == [[r["o"], r["c"], r["h"], r["l"], r["v"], "0"] for r in eth[:-4:-1]]
    times = [int(row[0]) for row in body["data"]]
    assert times == sorted(times, reverse=True) and times[0] == hour_start(now_s * 1000) // 1000


def test_kucoin_stats_books_and_trades_follow_the_history(sandbox, control):
    book_rec = recorded("kucoin/orderbook_level2_20_BTC-USDT.json")["data"]
    trades_rec = recorded("kucoin/trade_histories_BTC-USDT.json")["data"]
    with httpx.Client(base_url=sandbox["kucoin"], timeout=5) as client:
        def data(path, **params):
            body = client.get(path, params=params).json()
            assert body["code"] == "200000", body
            return body["data"]

        for symbol, (_, pair, _) in PAIRS.items():  # ETH-USDT: the BTC-USDT recordings' sizes and fees
            before = now_ms()
            stats = data("/api/v1/market/stats", symbol=pair)
            after = now_ms()
            assert within(stats["time"], before, after) and stats == kucoin_stats(pair, symbol, stats["time"])
            for depth in ("level2_20", "level2_100"):
                before = now_ms()
                book = data(f"/api/v1/market/orderbook/{depth}", symbol=pair)
                assert within(book["time"], before, now_ms()) and book["sequence"] == book_rec["sequence"]
                assert_repriced_book(book, book_rec, symbol, plain)
            before = now_ms()
            trades = data("/api/v1/market/histories", symbol=pair)
            after = now_ms()
            assert [t["price"] for t in trades] == [plain(moved(t["price"], trades_rec[0]["price"], symbol))
                                                    for t in trades_rec]
            assert [{k: v for k, v in t.items() if k not in ("price", "time")} for t in trades] == [
                {k: v for k, v in t.items() if k not in ("price", "time")} for t in trades_rec]
            assert_retimed([t["time"] for t in trades], [t["time"] for t in trades_rec], before * 1_000_000,
                           after * 1_000_000)  # nanoseconds
        before = now_ms()
        listing = data("/api/v1/market/allTickers")
        assert within(listing["time"], before, now_ms())
        assert listing["ticker"] == [
            {"symbol": pair, "symbolName": pair,
             **{k: v for k, v in kucoin_stats(pair, symbol, listing["time"]).items() if k != "time"}}
            for symbol, (_, pair, _) in PAIRS.items()]
        unknown = client.get("/api/v1/market/stats", params={"symbol": "SOL-USDT"}).json()
        assert unknown == {"code": "400100", "msg": "Unsupported trading pair."}


def test_coingecko_markets(sandbox, control):
    recorded = json.loads((DATA / "coingecko" / "coins_markets_usd_per100_page1.json").read_text())
    categories = json.loads((DATA / "coingecko_categories.json").read_text())
    with httpx.Client(base_url=sandbox["coingecko"] + "/api/v3", timeout=5) as client:
        def ids(**params):
            response = client.get("/coins/markets", params={"vs_currency": "usd", **params})
            assert response.status_code == 200
            return [coin["id"] for coin in response.json()]

        assert client.get("/ping").json() == {"gecko_says": "(V3) To the Moon!"}
        assert ids() == [c["id"] for c in recorded]
        assert ids(per_page=10, page=2) == [c["id"] for c in recorded[10:20]]
        assert ids(per_page=100, page=2) == []
        by_volume = sorted(recorded, key=lambda c: c["total_volume"], reverse=True)
        assert ids(order="volume_desc", per_page=5) == [c["id"] for c in by_volume[:5]]
        assert ids(order="market_cap_asc", per_page=3) == [c["id"] for c in recorded[-1:-4:-1]]
        assert ids(category="meme-token") == ["dogecoin", "shiba-inu"]
        defi = ids(category="decentralized-finance-defi", per_page=250)
        assert set(defi) == set(categories["decentralized-finance-defi"]) and "uniswap" in defi
        assert ids(ids="ethereum,bitcoin") == ["bitcoin", "ethereum"]
        missing = client.get("/coins/markets", params={"vs_currency": "usd", "category": "no-such-category"})
        assert missing.status_code == 404
        eur = client.get("/coins/markets", params={"vs_currency": "eur"})
        assert (eur.status_code, eur.json()) == (400, {"error": "invalid vs_currency"})


def test_coingecko_ohlc_granularity(sandbox, control):
    rows = csv_rows("BTCUSDT")
    with httpx.Client(base_url=sandbox["coingecko"] + "/api/v3", timeout=5) as client:
        def ohlc(days):
            response = client.get("/coins/bitcoin/ohlc", params={"vs_currency": "usd", "days": days})
            assert response.status_code == 200
            return response.json()

        before = now_ms()
        day = ohlc(1)
        after = now_ms()
        assert len(day) == 24 and {b[0] - a[0] for a, b in itertools.pairwise(day)} == {HOUR}
        assert_latest_hour(day[-1][0] - HOUR, before, after)  # stamped with the candle's close time
        assert day[-1][1:] == as_numbers(rows[-1])[:4]
        week = ohlc(7)
        assert {b[0] - a[0] for a, b in itertools.pairwise(week)} == {4 * HOUR}
        shift = day[-1][0] - HOUR - int(rows[-1]["t"])
        by_open = {int(r["t"]) + shift: r for r in rows}
        close = week[-2][0]  # a complete 4-hour candle
        hours = [by_open[close - 4 * HOUR + i * HOUR] for i in range(4)]
        assert week[-2][1:] == [float(hours[0]["o"]), max(float(h["h"]) for h in hours),
                                min(float(h["l"]) for h in hours), float(hours[-1]["c"])]
        quarter = ohlc(90)
        assert {b[0] - a[0] for a, b in itertools.pairwise(quarter)} == {4 * 24 * HOUR}
        assert 21 <= len(quarter) <= 23
        unknown = client.get("/coins/no-such-coin/ohlc", params={"vs_currency": "usd", "days": 1})
        assert (unknown.status_code, unknown.json()) == (404, {"error": "coin not found"})


def test_coingecko_market_chart_time_shift_and_granularity(sandbox, control):
    chart = recorded("coingecko/coins_bitcoin_market_chart_usd_days7.json")
    btc, eth = csv_rows("BTCUSDT"), csv_rows("ETHUSDT")
    with httpx.Client(base_url=sandbox["coingecko"] + "/api/v3", timeout=5) as client:
        def get(path, **params):
            response = client.get(path, params={"vs_currency": "usd", **params})
            assert response.status_code == 200, response.text
            return response.json()

        week = get("/coins/bitcoin/market_chart", days=7)
        assert {k: [v for _, v in rows] for k, rows in week.items()} == {
            k: [v for _, v in rows] for k, rows in chart.items()}  # recorded values, all three series
        assert 0 <= now_ms() - week["prices"][-1][0] < HOUR  # shifted: the last point is now
        shift = week["prices"][-1][0] - chart["prices"][-1][0]
        assert [t for t, _ in week["total_volumes"]] == [t + shift for t, _ in chart["total_volumes"]]
        day = get("/coins/bitcoin/market_chart", days=1)
        assert 20 <= len(day["prices"]) <= 26 and day["prices"][-1][1] == week["prices"][-1][1]

        month = get("/coins/bitcoin/market_chart", days=30)  # beyond the recording: hourly history closes
        assert month["market_caps"] == [] and month["total_volumes"] == []
        assert [p for _, p in month["prices"]] == [float(r["c"]) for r in btc[-len(month["prices"]):]]
        assert 0 <= now_ms() - month["prices"][-1][0] < HOUR
        assert {b[0] - a[0] for a, b in zip(month["prices"][:-1], month["prices"][1:-1], strict=False)} == {HOUR}
        assert 719 <= len(month["prices"]) <= 721
        eth_days = get("/coins/ethereum/market_chart", days=2)
        assert [p for _, p in eth_days["prices"]] == [float(r["c"]) for r in eth[-len(eth_days["prices"]):]]
        long = get("/coins/ethereum/market_chart", days=120)  # above 90 days: daily
        assert {b[0] - a[0] for a, b in zip(long["prices"][:-1], long["prices"][1:-1], strict=False)} == {86_400_000}
        assert all(t % 86_400_000 == 0 for t, _ in long["prices"][:-1]) and 119 <= len(long["prices"]) <= 121

        end_s = now_ms() // 1000
        hourly = get("/coins/ethereum/market_chart/range", **{"from": end_s - 3 * 86_400, "to": end_s})
        assert {b[0] - a[0] for a, b in zip(hourly["prices"], hourly["prices"][1:], strict=False)} == {HOUR}
        assert all((end_s - 3 * 86_400) * 1000 <= t <= end_s * 1000 for t, _ in hourly["prices"])
        daily = get("/coins/bitcoin/market_chart/range", **{"from": end_s - 200 * 86_400, "to": end_s})
        assert {b[0] - a[0] for a, b in zip(daily["prices"], daily["prices"][1:], strict=False)} == {86_400_000}
        unknown = client.get("/coins/dogecoin/market_chart", params={"vs_currency": "usd", "days": 1})
        assert (unknown.status_code, unknown.json()) == (404, {"error": "coin not found"})
        assert client.get("/coins/bitcoin/market_chart", params={"vs_currency": "eur", "days": 1}).status_code == 400


def test_coingecko_simple_price_global_and_list(sandbox, control):
    markets = {c["id"]: c for c in recorded("coingecko/coins_markets_usd_per100_page1.json")}
    with httpx.Client(base_url=sandbox["coingecko"] + "/api/v3", timeout=5) as client:
        before = now_ms()
        full = client.get("/simple/price", params={
            "ids": "bitcoin,ethereum,tether,no-such-coin", "vs_currencies": "usd", "include_24hr_change": "true",
            "include_24hr_vol": "true", "include_market_cap": "true", "include_last_updated_at": "true"}).json()
        after = now_ms()
        assert set(full) == {"bitcoin", "ethereum", "tether"}
        for coin, symbol in (("bitcoin", "BTCUSDT"), ("ethereum", "ETHUSDT")):
            d = day(symbol)
            assert full[coin]["last_updated_at"] in {before // 60_000 * 60, after // 60_000 * 60}  # to the minute
            assert full[coin] == {
                "usd": float(current(symbol)),
                "usd_market_cap": float(Decimal(str(markets[coin]["circulating_supply"])) * current(symbol)),
                "usd_24h_vol": float(d["quote_volume"]), "usd_24h_change": float(d["change"] / d["open"] * 100),
                "last_updated_at": full[coin]["last_updated_at"]}
        usdt = markets["tether"]  # other coins: the recorded markets page, which says how old it is
        assert full["tether"] == {"usd": usdt["current_price"], "usd_market_cap": usdt["market_cap"],
                                  "usd_24h_vol": usdt["total_volume"],
                                  "usd_24h_change": usdt["price_change_percentage_24h"],
                                  "last_updated_at": int(datetime.fromisoformat(usdt["last_updated"]).timestamp())}
        bare = client.get("/simple/price", params={"ids": "ethereum", "vs_currencies": "usd"}).json()
        assert bare == {"ethereum": {"usd": float(current("ETHUSDT"))}}
        eur = client.get("/simple/price", params={"ids": "bitcoin", "vs_currencies": "usd,eur"})
        assert (eur.status_code, eur.json()) == (400, {"error": "invalid vs_currency"})
        assert client.get("/global").json() == recorded("coingecko/global.json")
        assert client.get("/coins/list").json() == recorded("coingecko/coins_list_subset.json")


# The four venues as one market.

def venue_quotes(sandbox, symbol: str) -> dict[str, tuple[float, int]]:
    """Each venue's last price of symbol and the time it is stamped with (ms), as the suite reads them."""
    _, pair, coin = PAIRS[symbol]
    with httpx.Client(timeout=5) as client:
        binance = client.get(sandbox["binance"] + "/api/v3/ticker/24hr", params={"symbol": symbol}).json()
        kucoin = client.get(sandbox["kucoin"] + "/api/v1/market/stats", params={"symbol": pair}).json()["data"]
        okx = client.get(sandbox["okx"] + "/api/v5/market/ticker", params={"instId": pair}).json()["data"][0]
        gecko = client.get(sandbox["coingecko"] + "/api/v3/simple/price", params={
            "ids": coin, "vs_currencies": "usd", "include_last_updated_at": "true"}).json()[coin]
    return {"binance": (float(binance["lastPrice"]), binance["closeTime"]),
            "kucoin": (float(kucoin["last"]), kucoin["time"]),
            "okx": (float(okx["last"]), int(okx["ts"])),
            "coingecko": (gecko["usd"], gecko["last_updated_at"] * 1000)}


def test_every_venue_quotes_the_current_candle_close_now(sandbox, control):
    for symbol in PAIRS:
        quotes = venue_quotes(sandbox, symbol)
        now = now_ms()
        prices = [price for price, _ in quotes.values()]
        assert prices == [float(current(symbol))] * 4, quotes  # exactly the close of the candle in progress
        assert (max(prices) - min(prices)) / min(prices) < 0.01  # a consensus spread under 1 %
        assert all(0 <= now - stamp < 60_000 for _, stamp in quotes.values()), (now, quotes)


def test_every_market_timestamp_is_now_and_funding_on_its_boundary(sandbox, control):
    with httpx.Client(timeout=5) as client:
        def get(venue, path, **params):
            response = client.get(sandbox[venue] + path, params=params)
            assert response.status_code == 200, response.text
            return response.json()

        def okx(path, **params):
            return get("okx", path, **params)["data"]

        def kucoin(path, **params):
            return get("kucoin", path, **params)["data"]

        before = now_ms()
        stamps = {
            "binance ticker": get("binance", "/api/v3/ticker/24hr", symbol="ETHUSDT")["closeTime"],
            "binance trades": max(t["time"] for t in get("binance", "/api/v3/trades", symbol="BTCUSDT")),
            "binance aggTrades": max(t["T"] for t in get("binance", "/api/v3/aggTrades", symbol="ETHUSDT")),
            "binance premiumIndex": get("binance", "/fapi/v1/premiumIndex", symbol="BTCUSDT")["time"],
            "binance openInterest": get("binance", "/fapi/v1/openInterest", symbol="BTCUSDT")["time"],
            "binance futures depth": get("binance", "/fapi/v1/depth", symbol="BTCUSDT")["E"],
            "kucoin stats": kucoin("/api/v1/market/stats", symbol="ETH-USDT")["time"],
            "kucoin allTickers": kucoin("/api/v1/market/allTickers")["time"],
            "kucoin book": kucoin("/api/v1/market/orderbook/level2_100", symbol="BTC-USDT")["time"],
            "kucoin trades": max(t["time"] for t in kucoin("/api/v1/market/histories", symbol="ETH-USDT")) // 10**6,
            "okx ticker": int(okx("/api/v5/market/ticker", instId="ETH-USDT")[0]["ts"]),
            "okx tickers": int(okx("/api/v5/market/tickers", instType="SPOT")[1]["ts"]),
            "okx book": int(okx("/api/v5/market/books", instId="BTC-USDT")[0]["ts"]),
            "okx swap book": int(okx("/api/v5/market/books", instId="BTC-USDT-SWAP")[0]["ts"]),
            "okx trades": max(int(t["ts"]) for t in okx("/api/v5/market/trades", instId="BTC-USDT")),
            "okx open interest": int(okx("/api/v5/public/open-interest", instType="SWAP")[0]["ts"]),
        }
        settlements = {
            "binance nextFundingTime": get("binance", "/fapi/v1/premiumIndex", symbol="BTCUSDT")["nextFundingTime"],
            "okx fundingTime": int(okx("/api/v5/public/funding-rate", instId="BTC-USDT-SWAP")[0]["fundingTime"]),
        }
        latest = int(okx("/api/v5/public/funding-rate-history", instId="BTC-USDT-SWAP")[0]["fundingTime"])
        after = now_ms()
    assert {name: stamp for name, stamp in stamps.items() if not within(stamp, before, after)} == {}
    assert after - before < 60_000
    for name, stamp in settlements.items():  # the next 00/08/16 UTC settlement
        assert stamp % (8 * HOUR) == 0 and before < stamp <= after + 8 * HOUR, name
    assert latest % (8 * HOUR) == 0 and before - 8 * HOUR < latest <= after


async def _ccxt_view(exchange_id: str, base: str) -> dict:
    """What a real ccxt client reads from the sandbox: tickers, books and trades of both pairs."""
    exchange = getattr(ccxt_async, exchange_id)({"options": SPOT_ONLY})
    exchange.urls["api"] = point_at(exchange.urls["api"], base)
    try:
        await exchange.load_markets()
        view = {"tickers": await exchange.fetch_tickers(["BTC/USDT", "ETH/USDT"])}
        for symbol in ("BTC/USDT", "ETH/USDT"):
            view[symbol] = {"ticker": await exchange.fetch_ticker(symbol),
                            "book": await exchange.fetch_order_book(symbol),
                            "trades": await exchange.fetch_trades(symbol)}
        return view
    finally:
        await exchange.close()


def test_ccxt_clients_parse_every_derived_answer_and_see_one_price(sandbox, control):
    async def run():
        return {venue: await _ccxt_view(venue, sandbox[venue]) for venue in ("binance", "kucoin", "okx")}

    before = now_ms()
    views = asyncio.run(run())
    after = now_ms()
    for venue, view in views.items():
        for symbol, (unified, _, _) in PAIRS.items():
            price = float(current(symbol))
            ticker, book, trades = view[unified]["ticker"], view[unified]["book"], view[unified]["trades"]
            d = day(symbol)
            assert (ticker["last"], ticker["open"], ticker["high"], ticker["low"]) == (
                price, float(d["open"]), float(d["high"]), float(d["low"])), venue
            assert (ticker["baseVolume"], ticker["quoteVolume"]) == (float(d["volume"]), float(d["quote_volume"]))
            assert ticker["bid"] < price <= ticker["ask"] and within(ticker["timestamp"], before, after), venue
            assert view["tickers"][unified]["last"] == price, venue
            assert book["bids"][0][0] < price < book["asks"][0][0], venue
            assert abs((book["bids"][0][0] + book["asks"][0][0]) / 2 - price) < 1e-6 * price  # the recorded mid
            newest = max(trades, key=lambda t: t["timestamp"])
            assert newest["price"] == price and within(newest["timestamp"], before, after), venue


def test_status_fault_bodies_serve_a_ticker_off_the_market(sandbox, control):
    """A status fault with a body (here 200) serves a derived ticker changed by the test, once: the way suite
    tests serve one venue's quote 50 % off or 10 minutes old."""
    with httpx.Client(base_url=sandbox["binance"], timeout=5) as client:
        ticker = client.get("/api/v3/ticker/24hr", params={"symbol": "BTCUSDT"}).json()
        half = {**ticker, "lastPrice": f8(current("BTCUSDT") / 2)}
        old = {**ticker, "closeTime": ticker["closeTime"] - 10 * 60_000}
        for body in (half, old):
            control.post("/_sandbox/faults", json={"upstream": "binance", "path": "/api/v3/ticker/24hr",
                                                   "mode": "status", "status": 200, "body": body, "times": 1})
            assert client.get("/api/v3/ticker/24hr", params={"symbol": "BTCUSDT"}).json() == body
        again = client.get("/api/v3/ticker/24hr", params={"symbol": "BTCUSDT"}).json()
    assert again["lastPrice"] == f8(current("BTCUSDT")) and now_ms() - again["closeTime"] < 60_000


# CoinMarketCap pro API.

CMC_LISTINGS = "/v1/cryptocurrency/listings/latest"
CMC_KEY = {"X-CMC_PRO_API_KEY": "test"}


def cmc_quote(row: dict, field: str):
    return row["quote"]["USD"][field]


def test_coinmarketcap_listings_pages_and_sorts(sandbox, control):
    listing = recorded("coinmarketcap/listings_latest_usd_limit100.json")
    rows = listing["data"]
    with httpx.Client(base_url=sandbox["coinmarketcap"], headers=CMC_KEY, timeout=5) as client:
        def data(**params):
            response = client.get(CMC_LISTINGS, params=params)
            assert response.status_code == 200
            assert response.json()["status"] == listing["status"]
            return response.json()["data"]

        assert client.get(CMC_LISTINGS).json() == listing
        assert data(start=1, limit=5, convert="USD", sort="market_cap") == rows[:5]
        assert data(start=3, limit=2) == rows[2:4]
        assert data(start=98, limit=10) == rows[97:]
        assert data(start=101) == []
        assert data(limit=5000) == rows
        assert data(sort="market_cap", sort_dir="asc", limit=3) == rows[-1:-4:-1]

        def symbols(**params):
            return [row["symbol"] for row in data(**params)]

        by_volume = sorted(rows, key=lambda r: cmc_quote(r, "volume_24h"), reverse=True)
        assert symbols(sort="volume_24h", limit=10) == [r["symbol"] for r in by_volume[:10]]
        assert symbols(sort="volume_24h", limit=10)[:3] == ["USDT", "BTC", "ETH"]
        by_change = sorted(rows, key=lambda r: cmc_quote(r, "percent_change_24h"))
        assert symbols(sort="percent_change_24h", sort_dir="asc", limit=100) == [r["symbol"] for r in by_change]
        by_name = sorted(rows, key=lambda r: r["name"].casefold())
        assert symbols(sort="name", sort_dir="asc", limit=3) == ["ZRX", "AAVE", "ABBC"]  # 0x, Aave, ABBC Coin
        assert symbols(sort="name", sort_dir="asc", limit=100) == [r["symbol"] for r in by_name]
        assert symbols(sort="symbol", limit=2) == ["ZRX", "ZIL"]
        capped = data(sort="max_supply", sort_dir="asc", limit=100)
        supplies = [r["max_supply"] for r in capped]
        known = [s for s in supplies if s is not None]
        assert known == sorted(known) and supplies[len(known):] == [None] * (100 - len(known))


def test_coinmarketcap_requires_the_key_and_answers_bad_parameters_like_cmc(sandbox, control):
    with httpx.Client(base_url=sandbox["coinmarketcap"], timeout=5) as client:
        before = now_ms()
        missing = client.get(CMC_LISTINGS)
        status = missing.json()["status"]
        assert missing.status_code == 401
        assert {k: v for k, v in status.items() if k != "timestamp"} == {
            "error_code": 1002, "error_message": "API key missing.", "elapsed": 10, "credit_count": 0}
        stamp = datetime.fromisoformat(status["timestamp"].replace("Z", "+00:00")).timestamp() * 1000
        assert before - 1000 <= stamp <= now_ms() + 1000
        assert client.get(CMC_LISTINGS, headers={"X-CMC_PRO_API_KEY": ""}).status_code == 401
        assert client.get(CMC_LISTINGS, params={"CMC_PRO_API_KEY": "test", "limit": 1}).status_code == 200

        bad = [("limit", "0"), ("limit", "5001"), ("limit", "ten"), ("start", "0"), ("convert", "EUR"),
               ("convert", "USD,EUR"), ("convert_id", "2781"), ("sort", "volume_7d"), ("sort", "rank"),
               ("sort_dir", "up")]
        for name, value in bad:
            answer = client.get(CMC_LISTINGS, headers=CMC_KEY, params={name: value})
            assert answer.status_code == 400, (name, value)
            assert answer.json()["status"]["error_code"] == 400
            assert answer.json()["status"]["error_message"] == f'Invalid value for "{name}"'


def test_coinmarketcap_faults(sandbox, control):
    rate_limited = recorded("coinmarketcap/errors_docs_example.json")["429"]
    control.post("/_sandbox/faults", json={"upstream": "coinmarketcap", "mode": "status", "status": 500,
                                           "times": 1})
    control.post("/_sandbox/faults", json={"upstream": "coinmarketcap", "path": CMC_LISTINGS,
                                           "mode": "rate_limit", "retry_after": 60, "body": rate_limited,
                                           "times": 1})
    with httpx.Client(base_url=sandbox["coinmarketcap"], headers=CMC_KEY, timeout=5) as client:
        assert client.get(CMC_LISTINGS).status_code == 500
        limited = client.get(CMC_LISTINGS)
        assert (limited.status_code, limited.json(), limited.headers["retry-after"]) == (429, rate_limited, "60")
        assert client.get(CMC_LISTINGS).status_code == 200
    assert control.get("/_sandbox/requests").json() == {
        "total": 3, "by_upstream": {"coinmarketcap": {CMC_LISTINGS: 3}}}


def test_market_svc_coinmarketcap_adapter_reads_the_listener(sandbox, control):
    rows = recorded("coinmarketcap/listings_latest_usd_limit100.json")["data"][:5]

    async def fetch() -> list[dict]:
        client = UpstreamClient()
        try:
            adapter = CoinMarketCapAdapter(client, guard=Guard("coinmarketcap"), base_url=sandbox["coinmarketcap"],
                                           api_key="test", timeout=5)
            return [item.model_dump() for item in await adapter.fetch_listings(currency="usd", count=5)]
        finally:
            await client.close()

    items = asyncio.run(fetch())
    assert [(i["symbol"], i["rank"], i["price"], i["market_cap"], i["volume_24h"]) for i in items] == [
        (r["symbol"], r["cmc_rank"], cmc_quote(r, "price"), cmc_quote(r, "market_cap"), cmc_quote(r, "volume_24h"))
        for r in rows]
    assert items[0]["symbol"] == "BTC" and items[0]["price"] == 12957.520086190707


def test_coinpaprika_global_is_served_as_recorded_and_read_by_market_svcs_adapter(sandbox, control):
    recording = recorded("coinpaprika/global.json")
    with httpx.Client(base_url=sandbox["coinpaprika"], timeout=5) as client:
        assert client.get("/v1/global").json() == recording
        assert client.get("/v1/tickers").status_code == 404  # nothing else was recorded
    for status in (402, 429):  # the free plan's spent month, and too many calls
        control.post("/_sandbox/faults", json={"upstream": "coinpaprika", "mode": "status", "status": status,
                                               "times": 1, "body": {"error": "free plan limit reached"}})

    async def read() -> list:
        client = UpstreamClient()
        try:
            adapter = CoinPaprikaAdapter(client, guard=Guard("coinpaprika"), base_url=f"{sandbox['coinpaprika']}/v1",
                                         timeout=5)
            answers = []
            for _ in range(3):
                try:
                    answers.append(await adapter.fetch_global())
                except UpstreamRateLimitedError as exc:
                    answers.append(exc.details["status"])
            return answers
        finally:
            await client.close()

    limited_402, limited_429, totals = asyncio.run(read())
    assert (limited_402, limited_429) == (402, 429)  # both read as a rate limit, not as a refusal
    assert (totals.total_market_cap, totals.market_cap_percentage) == (
        recording["market_cap_usd"], {"btc": recording["bitcoin_dominance_percentage"]})
    assert control.get("/_sandbox/requests").json()["by_upstream"] == {"coinpaprika": {"/v1/global": 1 + 3,
                                                                                         "/v1/tickers": 1}}


def test_fault_status_hits_once(sandbox, control):
    created = control.post("/_sandbox/faults", json={"upstream": "binance", "path": "/api/v3/ping",
                                                     "mode": "status", "status": 500, "times": 1})
    assert created.status_code == 201 and created.json()["id"]
    with httpx.Client(base_url=sandbox["binance"], timeout=5) as client:
        assert client.get("/api/v3/time").status_code == 200  # other path untouched
        assert client.get("/api/v3/ping").status_code == 500
        second = client.get("/api/v3/ping")
        assert (second.status_code, second.json()) == (200, {})
    assert control.get("/_sandbox/faults").json() == []
    assert control.get("/_sandbox/requests").json() == {
        "total": 3, "by_upstream": {"binance": {"/api/v3/ping": 2, "/api/v3/time": 1}}}


def test_fault_status_body_and_retry_after(sandbox, control):
    ban = {"code": -1003, "msg": "Way too many requests; IP banned until 1700000000000."}
    control.post("/_sandbox/faults", json={"upstream": "binance", "path": "/api/v3/depth", "mode": "status",
                                           "status": 418, "retry_after": 120, "body": ban, "times": 1})
    control.post("/_sandbox/faults", json={"upstream": "binance", "path": "/api/v3/trades", "mode": "status",
                                           "status": 418, "times": 1})
    control.post("/_sandbox/faults", json={"upstream": "binance", "path": "/api/v3/time", "mode": "status",
                                           "status": 503, "times": 1})
    listed = control.get("/_sandbox/faults").json()
    assert listed[0]["body"] == ban and listed[0]["retry_after"] == 120 and "retry_after_given" not in listed[0]
    with httpx.Client(base_url=sandbox["binance"], timeout=5) as client:
        banned = client.get("/api/v3/depth", params={"symbol": "BTCUSDT"})
        assert (banned.status_code, banned.json(), banned.headers["retry-after"]) == (418, ban, "120")
        default = client.get("/api/v3/trades", params={"symbol": "BTCUSDT"})
        assert default.status_code == 418 and default.headers["retry-after"] == "1"  # 418 always says when
        plain = client.get("/api/v3/time")
        assert plain.status_code == 503 and "retry-after" not in plain.headers
        assert client.get("/api/v3/depth", params={"symbol": "BTCUSDT"}).status_code == 200

    async def ccxt_sees_ban() -> None:
        exchange = ccxt_async.binance({"options": SPOT_ONLY})
        exchange.urls["api"] = point_at(exchange.urls["api"], sandbox["binance"])
        try:
            await exchange.load_markets()
            control.post("/_sandbox/faults", json={"upstream": "binance", "mode": "status", "status": 418,
                                                   "body": ban, "path": "/api/v3/ticker/24hr", "times": 1})
            with pytest.raises(ccxt_async.DDoSProtection):
                await exchange.fetch_ticker("BTC/USDT")
        finally:
            await exchange.close()

    asyncio.run(ccxt_sees_ban())


def test_fault_rate_limit(sandbox, control):
    control.post("/_sandbox/faults", json={"upstream": "coingecko", "path": "/api/v3/coins",
                                           "mode": "rate_limit", "retry_after": 2})
    with httpx.Client(base_url=sandbox["coingecko"], timeout=5) as client:
        for _ in range(2):
            limited = client.get("/api/v3/coins/markets", params={"vs_currency": "usd"})
            assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
        assert client.get("/api/v3/ping").status_code == 200
        control.delete("/_sandbox/faults")
        assert client.get("/api/v3/coins/markets", params={"vs_currency": "usd"}).status_code == 200


def test_fault_delay_fires_client_timeout(sandbox, control):
    control.post("/_sandbox/faults", json={"upstream": "kucoin", "path": "/api/v1/timestamp",
                                           "mode": "delay", "delay": 3.0, "times": 1})
    with httpx.Client(base_url=sandbox["kucoin"], timeout=1.0) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.get("/api/v1/timestamp")
        started = time.monotonic()
        assert client.get("/api/v1/timestamp").json()["code"] == "200000"
        assert time.monotonic() - started < 0.5


def test_fault_malformed_body(sandbox, control):
    with httpx.Client(base_url=sandbox["binance"], timeout=5) as client:
        good = client.get("/api/v3/exchangeInfo")
        control.post("/_sandbox/faults", json={"upstream": "binance", "mode": "malformed", "times": 1})
        bad = client.get("/api/v3/exchangeInfo")
    assert bad.status_code == 200 and bad.headers["content-type"] == "application/json"
    assert good.content.startswith(bad.content) and len(bad.content) < len(good.content)
    with pytest.raises(json.JSONDecodeError):
        json.loads(bad.content)


def test_fault_refuse_closes_listener_and_clearing_reopens(sandbox, control):
    port = int(sandbox["binance"].rsplit(":", 1)[1])
    with httpx.Client(base_url=sandbox["binance"], timeout=2) as pooled:
        assert pooled.get("/api/v3/ping").status_code == 200  # leaves a keep-alive connection in the pool
        fault_id = control.post("/_sandbox/faults", json={"upstream": "binance", "mode": "refuse"}).json()["id"]
        with pytest.raises(httpx.ConnectError):
            pooled.get("/api/v3/ping")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        assert control.get("/_sandbox/health").json()["listening"]["binance"] is False
        assert httpx.get(sandbox["kucoin"] + "/api/v1/timestamp").status_code == 200
        assert control.delete(f"/_sandbox/faults/{fault_id}").status_code == 200
        assert pooled.get("/api/v3/ping").status_code == 200
    assert control.get("/_sandbox/health").json()["ports"]["binance"] == port
    assert control.get("/_sandbox/requests", params={"upstream": "binance"}).json() == {
        "total": 2, "by_upstream": {"binance": {"/api/v3/ping": 2}}}


def test_request_counts_are_exact(sandbox, control):
    with httpx.Client(timeout=5) as client:
        for _ in range(3):
            client.get(sandbox["binance"] + "/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1h"})
        client.get(sandbox["binance"] + "/api/v3/no-such-path")
        client.get(sandbox["coingecko"] + "/api/v3/ping")
    assert control.get("/_sandbox/requests").json() == {"total": 5, "by_upstream": {
        "binance": {"/api/v3/klines": 3, "/api/v3/no-such-path": 1}, "coingecko": {"/api/v3/ping": 1}}}
    filtered = control.get("/_sandbox/requests", params={"upstream": "binance", "path": "/api/v3/klines"})
    assert filtered.json() == {"total": 3, "by_upstream": {"binance": {"/api/v3/klines": 3}}}
    control.delete("/_sandbox/requests")
    assert control.get("/_sandbox/requests").json() == {"total": 0, "by_upstream": {}}


# Binance websocket market streams on the binance listener.

TRADE_FIELDS = ["e", "E", "s", "t", "p", "q", "T", "m", "M"]
# 24hrTicker event key -> REST ticker/24hr field.
TICKER_EVENT_FIELDS = {
    "p": "priceChange", "P": "priceChangePercent", "w": "weightedAvgPrice", "x": "prevClosePrice",
    "c": "lastPrice", "Q": "lastQty", "b": "bidPrice", "B": "bidQty", "a": "askPrice", "A": "askQty",
    "o": "openPrice", "h": "highPrice", "l": "lowPrice", "v": "volume", "q": "quoteVolume",
    "O": "openTime", "C": "closeTime", "F": "firstId", "L": "lastId", "n": "count",
}


def ws_url(sandbox, path: str) -> str:
    return "ws" + sandbox["binance"].removeprefix("http") + path


def binance_ws(sandbox, path: str):
    # proxy=None: a proxy from the environment must not carry a connection to 127.0.0.1.
    return ws_connect(ws_url(sandbox, path), proxy=None, open_timeout=5)


async def recv_json(ws: ClientConnection, timeout: float = 2.0):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def collect(ws: ClientConnection, done, timeout: float = 4.0) -> list:
    """Messages until done(messages) holds."""
    messages: list = []
    deadline = time.monotonic() + timeout
    while not done(messages):
        messages.append(await recv_json(ws, max(0.01, deadline - time.monotonic())))
    return messages


async def receive_for(ws: ClientConnection, seconds: float) -> list:
    """Every message that arrives within `seconds`."""
    messages: list = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            messages.append(await recv_json(ws, left))
        except TimeoutError:
            break
    return messages


async def until_closed(ws: ClientConnection) -> ConnectionClosed:
    """Read (and discard what is buffered) until the connection ends; the exception the client saw."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), 3)
    return closed.value


def wait_for_connections(control: httpx.Client, count: int) -> dict:
    deadline = time.monotonic() + 3
    while (state := control.get("/_sandbox/streams").json())["connections"] != count:
        assert time.monotonic() < deadline, state
        time.sleep(0.02)
    return state


def of_stream(messages: list, name: str) -> list:
    return [m["data"] for m in messages if m.get("stream") == name]


@pytest.fixture
def streams(control):
    """Streams at 20 messages per second per stream for the test, back to the default 1 afterwards."""
    assert control.post("/_sandbox/streams", json={"rate": 20}).json()["rate"] == 20
    wait_for_connections(control, 0)
    yield control
    control.post("/_sandbox/streams", json={"rate": 1})


def assert_replayed_trades(events: list, recording: list[dict], symbol: str) -> None:
    """Consecutive ids; quantity and side of the recorded trade the id falls on, cycling; its price re-priced as
    REST /api/v3/trades does (the newest recorded trade at the current price)."""
    first = recording[0]["id"]
    span = recording[-1]["id"] - first + 1
    ids = [e["t"] for e in events]
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    for event in events:
        assert list(event) == TRADE_FIELDS and (event["e"], event["s"]) == ("trade", symbol)
        source = recording[(event["t"] - first) % span]
        assert (event["p"], event["q"], event["m"], event["M"]) == (
            f8(moved(source["price"], recording[-1]["price"], symbol)), source["qty"], source["isBuyerMaker"],
            source["isBestMatch"])
        assert event["T"] == event["E"] and abs(event["E"] - now_ms()) < 5_000


def test_binance_ws_combined_stream_trades_and_tickers(sandbox, streams):
    control = streams
    recording = recorded("binance/trades_BTCUSDT.json")
    layout = list(recorded("binance/ws_24hrTicker_BNBBTC_docs_example.json"))

    async def run():
        async with binance_ws(sandbox, "/stream?streams=btcusdt@trade/btcusdt@ticker") as ws:
            messages = await collect(ws, lambda m: len(of_stream(m, "btcusdt@trade")) >= 12
                                     and len(of_stream(m, "btcusdt@ticker")) >= 3)
            return messages, wait_for_connections(control, 1)

    messages, state = asyncio.run(run())
    assert all(list(m) == ["stream", "data"] for m in messages)
    trades = of_stream(messages, "btcusdt@trade")
    assert_replayed_trades(trades, recording, "BTCUSDT")
    first = recording[0]["id"]
    assert any((t["t"] - first) % len(recording) == 0 for t in trades[1:])  # 12 in a row cross a cycle

    tickers = of_stream(messages, "btcusdt@ticker")
    for ticker in tickers:
        # REST ticker/24hr of the event's moment, in the event's field names and the docs example's order.
        assert list(ticker) == layout and (ticker["e"], ticker["s"]) == ("24hrTicker", "BTCUSDT")
        rest = binance_ticker("BTCUSDT", ticker["E"])
        assert {key: ticker[key] for key in TICKER_EVENT_FIELDS} == {
            key: rest[field] for key, field in TICKER_EVENT_FIELDS.items()}
        assert abs(ticker["E"] - now_ms()) < 5_000 and ticker["C"] == ticker["E"] and ticker["O"] == ticker["E"] - DAY

    assert state == {"rate": 20.0, "connections": 1, "subscriptions": {"btcusdt@ticker": 1, "btcusdt@trade": 1}}
    assert control.get("/_sandbox/requests", params={"upstream": "binance"}).json() == {
        "total": 1, "by_upstream": {"binance": {"/stream": 1}}}


def test_binance_ws_raw_stream_and_rate_change(sandbox, streams):
    control = streams
    control.post("/_sandbox/streams", json={"rate": 2})

    async def run():
        async with binance_ws(sandbox, "/ws/btcusdt@trade") as ws:
            first = await recv_json(ws)
            slow = await receive_for(ws, 0.6)
            assert control.post("/_sandbox/streams", json={"rate": 40}).json()["rate"] == 40
            fast = await receive_for(ws, 0.6)
            return [first, *slow, *fast], len(slow), len(fast)

    events, slow, fast = asyncio.run(run())
    assert slow <= 2 and fast >= 12, (slow, fast)
    assert_replayed_trades(events, recorded("binance/trades_BTCUSDT.json"), "BTCUSDT")  # raw: the data alone
    assert control.get("/_sandbox/requests").json()["by_upstream"] == {"binance": {"/ws/btcusdt@trade": 1}}
    assert control.post("/_sandbox/streams", json={"rate": 0}).status_code == 422


def test_binance_ws_subscribe_unsubscribe_and_properties(sandbox, streams):
    eth = recorded("binance/ws_trade_ETHUSDT_combined_stream.json")["data"]

    async def run():
        async with binance_ws(sandbox, "/stream?streams=btcusdt@trade") as ws:
            await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@ticker", "ethusdt@trade"], "id": 1}))
            messages = await collect(ws, lambda m: {"result": None, "id": 1} in m
                                     and len(of_stream(m, "ethusdt@trade")) >= 3
                                     and len(of_stream(m, "btcusdt@ticker")) >= 1)
            await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 2}))
            listed = await collect(ws, lambda m: m and m[-1].get("id") == 2)
            await ws.send(json.dumps({"method": "UNSUBSCRIBE", "params": ["btcusdt@trade"], "id": 3}))
            await collect(ws, lambda m: m and m[-1] == {"result": None, "id": 3})
            after = await receive_for(ws, 0.3)
            await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["BTCUSDT@trade"], "id": 4}))
            invalid = await collect(ws, lambda m: m and m[-1].get("id") == 4)
            await ws.send("not json")
            garbled = await collect(ws, lambda m: m and "error" in m[-1])
            await ws.send(json.dumps({"method": "SET_PROPERTY", "params": ["combined", False], "id": 5}))
            await collect(ws, lambda m: m and m[-1] == {"result": None, "id": 5})
            raw = await recv_json(ws)
            return messages, listed[-1], after, invalid[-1], garbled[-1], raw

    messages, listed, after, invalid, garbled, raw = asyncio.run(run())
    eth_trades = of_stream(messages, "ethusdt@trade")
    ids = [t["t"] for t in eth_trades]
    assert ids == list(range(ids[0], ids[0] + len(ids))) and ids[0] >= eth["t"]
    # The one recorded ETHUSDT trade is the newest, so every replay of it is at the current price.
    assert {(t["s"], t["p"], t["q"], t["m"], t["M"]) for t in eth_trades} == {
        ("ETHUSDT", f8(current("ETHUSDT")), eth["q"], eth["m"], eth["M"])}
    assert listed == {"result": ["btcusdt@trade", "btcusdt@ticker", "ethusdt@trade"], "id": 2}
    assert after and not of_stream(after, "btcusdt@trade")
    assert invalid == {"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": 4}
    assert garbled["error"]["code"] == 3 and garbled["id"] is None
    assert "stream" not in raw and raw["e"] in ("trade", "24hrTicker")


def test_binance_ws_faults_silence_drop_refuse_status(sandbox, streams):
    control = streams
    path = "/stream?streams=btcusdt@trade"

    async def run():
        async with binance_ws(sandbox, path) as ws:
            before = await collect(ws, lambda m: len(m) >= 2)
            silence = control.post("/_sandbox/faults", json={"upstream": "binance", "mode": "silence"})
            assert silence.status_code == 201
            await receive_for(ws, 0.15)  # what was already on the wire
            assert await receive_for(ws, 0.5) == []
            await asyncio.wait_for(await ws.ping(), 2)  # the connection itself is alive
            assert control.delete(f"/_sandbox/faults/{silence.json()['id']}").status_code == 200
            resumed = await collect(ws, lambda m: len(m) >= 2)
            assert resumed[0]["data"]["t"] > before[-1]["data"]["t"]
            assert resumed[1]["data"]["t"] == resumed[0]["data"]["t"] + 1

            dropped = control.post("/_sandbox/faults", json={"upstream": "binance", "mode": "drop"})
            assert dropped.status_code == 201 and dropped.json()["dropped"] == 1
            closed = await until_closed(ws)
            assert isinstance(closed, ConnectionClosedError) and closed.rcvd is None  # no close frame: 1006
        assert control.get("/_sandbox/faults").json() == []  # drop is an action, not a standing fault
        async with binance_ws(sandbox, path) as ws:
            await recv_json(ws)  # reconnecting works
            refuse = control.post("/_sandbox/faults", json={"upstream": "binance", "mode": "refuse"}).json()["id"]
            assert (await until_closed(ws)).rcvd.code == 1012
        with pytest.raises(ConnectionRefusedError):
            await binance_ws(sandbox, path)
        control.delete(f"/_sandbox/faults/{refuse}")
        control.post("/_sandbox/faults", json={"upstream": "binance", "mode": "status", "status": 429,
                                               "retry_after": 7, "path": "/stream", "times": 1})
        with pytest.raises(InvalidStatus) as rejected:
            await binance_ws(sandbox, path)
        assert rejected.value.response.status_code == 429
        assert rejected.value.response.headers["Retry-After"] == "7"
        async with binance_ws(sandbox, path) as ws:
            await recv_json(ws)

    asyncio.run(run())
    # Every handshake counts, refused ones included; the refused connect never reached the listener.
    assert control.get("/_sandbox/requests", params={"upstream": "binance"}).json() == {
        "total": 4, "by_upstream": {"binance": {"/stream": 4}}}
