"""OKX v5 REST (www.okx.com): derived listings, time-shifted candles, and tickers, books, trades, funding and open
interest derived from the same history (sandbox.market; see data/README.md)."""

from decimal import Decimal
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from sandbox import market
from sandbox.fixtures import load_json
from sandbox.history import INTERVALS, History
from sandbox.market import plain
from sandbox.params import int_param
from sandbox.responses import UpstreamError, answer_errors, json_response

# OKX bar -> sandbox interval. Bars with the "utc" suffix (what ccxt sends for >= 6h) open at 00:00 UTC,
# the plain 1D/1W ones at 00:00 Hong Kong time.
BARS = {
    "1m": "1m", "5m": "5m", "15m": "15m", "1H": "1h", "4H": "4h",
    "1D": "1d@utc+8", "1Dutc": "1d", "1W": "1w@utc+8", "1Wutc": "1w",
}
CANDLE_LIMITS = {"candles": (100, 300), "history-candles": (100, 100)}
SWAP_SUFFIX = "-SWAP"
# Spot tickers, books and trades were recorded for BTC-USDT only; ETH-USDT reuses them for everything that is not a
# price. The swap recordings (book, funding, open interest) are of BTC-USDT-SWAP only.
TICKER_FILE = "okx/market_ticker_BTC-USDT.json"
TRADES_FILE = "okx/market_trades_BTC-USDT.json"
FUNDING_FILE = "okx/public_funding-rate-history_BTC-USDT-SWAP.json"
OPEN_INTEREST_FILE = "okx/public_open-interest_BTC-USDT-SWAP.json"
RECORDED_SWAP = "BTC-USDT-SWAP"
SWAP_SYMBOL = "BTCUSDT"
# OKX answers an unknown instrument with HTTP 200 and the error in the body.
UNKNOWN_INSTRUMENT = ("51001", "Instrument ID or Spread ID doesn't exist.", 200)


def error_body(error: UpstreamError) -> dict[str, Any]:
    """OKX's {"code", "data", "msg"} error body."""
    return {"code": error.code, "data": [], "msg": error.msg}


def to_okx_spot(binance_symbol: str) -> str:
    """BTCUSDT -> BTC-USDT (the sandbox only has USDT pairs)."""
    return binance_symbol.removesuffix("USDT") + "-USDT"


def _ok(data: list[Any]) -> Response:
    return json_response({"code": "0", "msg": "", "data": data})


def _param_error(name: str) -> UpstreamError:
    return UpstreamError("51000", f"Parameter {name} error")


_int = partial(int_param, invalid=_param_error)


def spot_instruments(spot_ids: set[str]) -> list[dict[str, Any]]:
    """SPOT listing derived from the recorded MARGIN rows of the same pairs (see data/README.md).

    A MARGIN row and the SPOT row of one pair share instId, currencies, sizes and tick size; OKX fills
    instFamily and uly only for margin and derivatives, so they are emptied here.
    """
    rows = []
    for row in load_json("okx/public_instruments_MARGIN.json")["data"]:
        if row["instId"] in spot_ids:
            rows.append({**row, "instType": "SPOT", "instFamily": "", "uly": ""})
    return rows


def ticker(history: History, inst: str, symbol: str, now: int) -> dict[str, Any]:
    """A SPOT ticker row of inst at now: prices and volumes from the history, sizes as recorded."""
    recorded = load_json(TICKER_FILE)["data"][0]
    d = market.day(history, symbol, now)
    last = recorded["last"]
    return {**recorded, "instId": inst, "last": plain(d.last),
            "askPx": plain(market.scale(recorded["askPx"], last, d.last)),
            "bidPx": plain(market.scale(recorded["bidPx"], last, d.last)),
            "open24h": plain(d.open), "high24h": plain(d.high), "low24h": plain(d.low),
            "volCcy24h": plain(d.quote_volume), "vol24h": plain(d.volume), "ts": str(now),
            "sodUtc0": plain(market.start_of_day(history, symbol, now, 0)),
            "sodUtc8": plain(market.start_of_day(history, symbol, now, 8))}


def book(history: History, inst: str, symbol: str, now: int, size: int) -> dict[str, Any]:
    """A book of `size` levels: the recorded one (of inst, or of BTC-USDT for ETH-USDT) re-priced, ts = now."""
    recorded_inst = inst if inst == RECORDED_SWAP else "BTC-USDT"
    recorded = load_json(f"okx/market_books_{recorded_inst}_sz2.json")["data"][0]
    mid = market.book_mid(recorded["bids"], recorded["asks"])
    current = market.current_price(history, symbol, now)
    # The recordings hold 2 levels per side; a larger sz cannot add levels.
    return {**recorded, "ts": str(now),
            **{side: market.reprice_levels(recorded[side][:size], mid, current, plain) for side in ("asks", "bids")}}


def trades(history: History, inst: str, symbol: str, now: int) -> list[dict[str, Any]]:
    """Trade rows (newest first): the recorded ones re-priced and re-timed so the newest is the current price at
    now; ids and sizes as recorded."""
    recorded = load_json(TRADES_FILE)["data"]
    newest = max(recorded, key=lambda t: int(t["ts"]))
    current = market.current_price(history, symbol, now)
    offset = market.retime_offset([int(t["ts"]) for t in recorded], now)
    return [{**t, "instId": inst, "px": plain(market.scale(t["px"], newest["px"], current)),
             "ts": str(int(t["ts"]) + offset)} for t in recorded]


def funding_history(now: int) -> list[dict[str, Any]]:
    """The recorded funding rows (newest first) moved by whole periods so the newest is the latest settlement."""
    rows = load_json(FUNDING_FILE)["data"]
    shift = market.last_funding(now, _funding_period(rows)) - int(rows[0]["fundingTime"])
    return [{**r, "fundingTime": str(int(r["fundingTime"]) + shift)} for r in rows]


def _funding_period(rows: list[dict[str, Any]]) -> int:
    # The spacing of the two recorded settlements (8 hours).
    return int(rows[0]["fundingTime"]) - int(rows[1]["fundingTime"])


def funding_rate(now: int) -> dict[str, Any]:
    """The current funding rate: the newest recorded rate, due at the next settlement, and the one after."""
    rows = load_json(FUNDING_FILE)["data"]
    newest, period = rows[0], _funding_period(rows)
    upcoming = market.next_funding(now, period)
    return {"fundingRate": newest["fundingRate"], "fundingTime": str(upcoming), "instId": newest["instId"],
            "instType": newest["instType"], "nextFundingTime": str(upcoming + period)}


def open_interest(history: History, now: int) -> dict[str, Any]:
    """The recorded open interest (contracts, BTC) with oiUsd = oiCcy x the current price and ts = now."""
    recorded = load_json(OPEN_INTEREST_FILE)["data"][0]
    current = market.current_price(history, SWAP_SYMBOL, now)
    return {**recorded, "oiUsd": plain(Decimal(recorded["oiCcy"]) * current), "ts": str(now)}


def create_app(history: History) -> FastAPI:
    """The OKX v5 REST app."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    spot = {to_okx_spot(s): s for s in history.symbols}
    swaps = {inst + SWAP_SUFFIX for inst in spot}

    answer_errors(app, error_body)

    def inst_id(request: Request, allowed: set[str]) -> str:
        value = request.query_params.get("instId")
        if not value:
            raise UpstreamError("50014", "Parameter instId can not be empty")
        if value not in allowed:
            raise UpstreamError(*UNKNOWN_INSTRUMENT)
        return value

    def limit(request: Request, default: int, maximum: int) -> int:
        value = _int(request, "limit")
        if value is None:
            return default
        if value < 1:
            raise _param_error("limit")
        return min(value, maximum)

    @app.get("/api/v5/public/time")
    async def public_time() -> Response:
        return _ok([{"ts": str(history.now_ms())}])

    @app.get("/api/v5/public/instruments")
    async def instruments(request: Request) -> Response:
        kind = request.query_params.get("instType")
        if kind == "SPOT":
            rows = spot_instruments(set(spot))
        elif kind == "SWAP":
            rows = [r for r in load_json("okx/public_instruments_SWAP.json")["data"] if r["instId"] in swaps]
        elif kind in ("MARGIN", "FUTURES", "OPTION"):
            rows = []  # not recorded (ccxt only asks for the types in options.fetchMarkets.types)
        else:
            raise _param_error("instType")
        wanted = request.query_params.get("instId")
        if wanted:
            rows = [r for r in rows if r["instId"] == wanted]
        return _ok(rows)

    @app.get("/api/v5/market/ticker")
    async def market_ticker(request: Request) -> Response:
        inst = inst_id(request, set(spot))
        return _ok([ticker(history, inst, spot[inst], history.now_ms())])

    @app.get("/api/v5/market/tickers")
    async def tickers(request: Request) -> Response:
        kind = request.query_params.get("instType")
        if kind not in ("SPOT", "SWAP", "FUTURES", "OPTION"):
            raise _param_error("instType")
        now = history.now_ms()
        return _ok([ticker(history, inst, symbol, now) for inst, symbol in spot.items()] if kind == "SPOT" else [])

    @app.get("/api/v5/market/books")
    async def books(request: Request) -> Response:
        inst = inst_id(request, {*spot, RECORDED_SWAP})
        symbol = SWAP_SYMBOL if inst == RECORDED_SWAP else spot[inst]
        return _ok([book(history, inst, symbol, history.now_ms(), _int(request, "sz") or 1)])

    @app.get("/api/v5/market/trades")
    async def market_trades(request: Request) -> Response:
        inst = inst_id(request, set(spot))
        count = limit(request, 100, 500)
        return _ok(trades(history, inst, spot[inst], history.now_ms())[:count])

    async def candles(request: Request, kind: str) -> Response:
        inst = inst_id(request, set(spot) | swaps)
        bar = request.query_params.get("bar", "1m")
        if bar not in BARS:
            raise _param_error("bar")
        count = limit(request, *CANDLE_LIMITS[kind])
        after, before = _int(request, "after"), _int(request, "before")
        if inst in swaps:
            # No swap history: only the two recorded BTC-USDT-SWAP 1m rows exist (kept as recorded, not shifted).
            recorded = (inst, bar) == (RECORDED_SWAP, "1m")
            rows = load_json("okx/market_candles_BTC-USDT-SWAP.json")["data"] if recorded else []
            rows = [r for r in rows
                    if (after is None or int(r[0]) < after) and (before is None or int(r[0]) > before)]
            return _ok(rows[:count])
        interval = BARS[bar]
        length = INTERVALS[interval][0]
        # `after` = older than (exclusive), `before` = newer than (exclusive); newest first.
        selected = history.series(spot[inst], interval).select(
            None if before is None else before + 1, None if after is None else after - 1, count, from_end=True)
        now = history.now_ms()
        # [ts, o, h, l, c, vol (base), volCcy, volCcyQuote, confirm]: the history has no quote volume, so
        # volCcy and volCcyQuote are "0"; confirm is "0" for the candle still in progress.
        return _ok([[str(c.t), c.o, c.h, c.l, c.c, c.v, "0", "0", "0" if c.t + length > now else "1"]
                    for c in reversed(selected)])

    @app.get("/api/v5/market/candles")
    async def market_candles(request: Request) -> Response:
        return await candles(request, "candles")

    @app.get("/api/v5/market/history-candles")
    async def market_history_candles(request: Request) -> Response:
        return await candles(request, "history-candles")

    @app.get("/api/v5/public/funding-rate")
    async def public_funding_rate(request: Request) -> Response:
        inst_id(request, {RECORDED_SWAP})
        return _ok([funding_rate(history.now_ms())])

    @app.get("/api/v5/public/funding-rate-history")
    async def funding_rate_history(request: Request) -> Response:
        inst_id(request, {RECORDED_SWAP})
        count = limit(request, 100, 100)
        after, before = _int(request, "after"), _int(request, "before")
        rows = [r for r in funding_history(history.now_ms())
                if (after is None or int(r["fundingTime"]) < after)
                and (before is None or int(r["fundingTime"]) > before)]
        return _ok(rows[:count])

    @app.get("/api/v5/public/open-interest")
    async def public_open_interest(request: Request) -> Response:
        kind = request.query_params.get("instType")
        if kind not in ("SWAP", "FUTURES", "OPTION"):
            raise _param_error("instType")
        row = open_interest(history, history.now_ms())
        if request.query_params.get("instId"):
            inst_id(request, {RECORDED_SWAP})
            return _ok([row])
        uly = request.query_params.get("uly") or request.query_params.get("instFamily")
        return _ok([row] if kind == "SWAP" and uly in (None, "", "BTC-USDT") else [])

    return app
