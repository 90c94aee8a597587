"""Binance spot REST (api.binance.com), USD-M futures REST (fapi.binance.com) and the spot websocket market
streams (stream.binance.com) on one listener: time-shifted klines, and tickers, books, trades and futures figures
derived from the same history (sandbox.binance_market)."""

from functools import partial
from typing import Any

import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response

from sandbox import binance_market as derived
from sandbox.binance_streams import StreamHub, add_routes, binance_feeds
from sandbox.fixtures import load_json
from sandbox.history import INTERVALS, Candle, History
from sandbox.params import int_param
from sandbox.responses import UpstreamError, answer_errors, code_msg_body, json_response

KLINE_INTERVALS = ("1m", "5m", "15m", "1h", "4h", "1d", "1w")
FUTURES_SYMBOL = "BTCUSDT"


def _invalid_symbol() -> UpstreamError:
    return UpstreamError(-1121, "Invalid symbol.")


def _required(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise UpstreamError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
    return value


def _illegal_characters(name: str) -> UpstreamError:
    return UpstreamError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.")


_int = partial(int_param, invalid=_illegal_characters)


def _limit(request: Request, default: int, maximum: int) -> int:
    # Binance caps oversize limits at the endpoint's maximum.
    return max(1, min(_int(request, "limit", default), maximum))


def _symbols_param(request: Request) -> list[str] | None:
    raw = request.query_params.get("symbols")
    if raw is None:
        return None
    try:
        symbols = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UpstreamError(-1100, "Illegal characters found in parameter 'symbols'.") from None
    if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
        raise UpstreamError(-1100, "Illegal characters found in parameter 'symbols'.")
    return symbols


def to_kline(candle: Candle, length: int) -> list[Any]:
    """A 12-field Binance kline row; fields the source does not have are "0" / 0 (never invented)."""
    return [
        candle.t, candle.o, candle.h, candle.l, candle.c, candle.v, candle.t + length - 1,
        candle.quote_volume or "0", candle.trades or 0, candle.taker_base or "0", candle.taker_quote or "0", "0",
    ]


def _one_or_many(request: Request, records: dict[str, Any]) -> Any:
    """Binance's ticker convention: `symbol` -> one object, `symbols` -> list, neither -> every symbol."""
    symbol = request.query_params.get("symbol")
    if symbol is not None:
        if symbol not in records:
            raise _invalid_symbol()
        return records[symbol]
    wanted = _symbols_param(request)
    if wanted is None:
        return list(records.values())
    if any(s not in records for s in wanted):
        raise _invalid_symbol()
    return [records[s] for s in wanted]


def create_app(history: History, streams: StreamHub | None = None) -> FastAPI:
    """The Binance spot + USD-M futures REST app, with the websocket market streams of `streams`."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    add_routes(app, streams if streams is not None else StreamHub(binance_feeds(history), history.now_ms))
    known = set(history.symbols)

    answer_errors(app, code_msg_body)

    def spot_symbol(request: Request) -> str:
        symbol = _required(request, "symbol")
        if symbol not in known:
            raise _invalid_symbol()
        return symbol

    def futures_symbol(request: Request) -> str:
        # The futures recordings (open interest, funding, book) are of the BTCUSDT perpetual only.
        symbol = _required(request, "symbol")
        if symbol != FUTURES_SYMBOL:
            raise _invalid_symbol()
        return symbol

    @app.get("/api/v3/ping")
    @app.get("/fapi/v1/ping")
    async def ping() -> Response:
        return json_response({})

    @app.get("/api/v3/time")
    @app.get("/fapi/v1/time")
    async def server_time() -> Response:
        return json_response({"serverTime": history.now_ms()})

    @app.get("/api/v3/exchangeInfo")
    async def exchange_info(request: Request) -> Response:
        info = load_json("binance/exchangeInfo_subset_BTCUSDT_ETHUSDT.json")
        by_symbol = {s["symbol"]: s for s in info["symbols"]}
        symbol = request.query_params.get("symbol")
        wanted = [symbol] if symbol is not None else _symbols_param(request)
        if wanted is None:
            return json_response(info)
        if any(s not in by_symbol for s in wanted):
            raise _invalid_symbol()
        return json_response({**info, "symbols": [by_symbol[s] for s in wanted]})

    @app.get("/api/v3/klines")
    async def klines(request: Request) -> Response:
        symbol = _required(request, "symbol")
        if symbol not in known:
            raise _invalid_symbol()
        interval = _required(request, "interval")
        if interval not in KLINE_INTERVALS:
            raise UpstreamError(-1120, "Invalid interval.")
        limit = _limit(request, 500, 1000)
        start, end = _int(request, "startTime"), _int(request, "endTime")
        series = history.series(symbol, interval)
        if start is not None:
            rows = series.select(start, end, limit)
        else:
            rows = series.select(None, end, limit, from_end=True)
        length = INTERVALS[interval][0]
        return json_response([to_kline(c, length) for c in rows])

    def tickers() -> dict[str, dict[str, Any]]:
        now = history.now_ms()
        return {symbol: derived.ticker_24hr(history, symbol, now) for symbol in history.symbols}

    @app.get("/api/v3/ticker/24hr")
    async def ticker_24hr(request: Request) -> Response:
        return json_response(_one_or_many(request, tickers()))

    @app.get("/api/v3/ticker/price")
    async def ticker_price(request: Request) -> Response:
        return json_response(_one_or_many(request, {s: derived.price_ticker(t) for s, t in tickers().items()}))

    @app.get("/api/v3/ticker/bookTicker")
    async def book_ticker(request: Request) -> Response:
        return json_response(_one_or_many(request, {s: derived.book_ticker(t) for s, t in tickers().items()}))

    @app.get("/api/v3/depth")
    async def depth(request: Request) -> Response:
        symbol = spot_symbol(request)
        return json_response(derived.depth(history, symbol, history.now_ms(), _limit(request, 100, 5000)))

    @app.get("/api/v3/trades")
    async def trades(request: Request) -> Response:
        symbol = spot_symbol(request)
        limit = _limit(request, 500, 1000)
        return json_response(derived.trades(history, symbol, history.now_ms())[-limit:])

    @app.get("/api/v3/aggTrades")
    async def agg_trades(request: Request) -> Response:
        symbol = spot_symbol(request)
        limit = _limit(request, 500, 1000)
        from_id, start, end = _int(request, "fromId"), _int(request, "startTime"), _int(request, "endTime")
        rows = [
            r for r in derived.agg_trades(history, symbol, history.now_ms())
            if (from_id is None or r["a"] >= from_id)
            and (start is None or r["T"] >= start)
            and (end is None or r["T"] <= end)
        ]
        return json_response(rows[:limit] if (from_id is not None or start is not None) else rows[-limit:])

    # USD-M futures (fapi.binance.com): ccxt's "linear" markets; ping and time are served with the spot ones.

    @app.get("/fapi/v1/exchangeInfo")
    async def fapi_exchange_info() -> Response:
        return json_response(load_json("binance/fapi_exchangeInfo_subset_BTCUSDT_ETHUSDT.json"))

    @app.get("/fapi/v1/premiumIndex")
    async def fapi_premium_index(request: Request) -> Response:
        symbol = request.query_params.get("symbol")
        if symbol is not None and symbol != FUTURES_SYMBOL:
            raise _invalid_symbol()
        record = derived.premium_index(history, FUTURES_SYMBOL, history.now_ms())
        return json_response(record if symbol is not None else [record])

    @app.get("/fapi/v1/openInterest")
    async def fapi_open_interest(request: Request) -> Response:
        futures_symbol(request)
        return json_response(derived.open_interest(history.now_ms()))

    @app.get("/fapi/v1/depth")
    async def fapi_depth(request: Request) -> Response:
        symbol = futures_symbol(request)
        return json_response(derived.futures_depth(history, symbol, history.now_ms(), _limit(request, 500, 1000)))

    return app
