"""KuCoin spot REST (api.kucoin.com): recorded payloads, derived listings and time-shifted candles."""

from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from sandbox.fixtures import load_json
from sandbox.history import History
from sandbox.params import int_param
from sandbox.responses import UpstreamError, answer_errors, code_msg_body, json_response

OK = "200000"
CANDLE_TYPES = {"1min": "1m", "5min": "5m", "15min": "15m", "1hour": "1h", "4hour": "4h", "1day": "1d", "1week": "1w"}
MAX_CANDLES = 1500
RECORDED_SYMBOL = "BTC-USDT"


def to_kucoin_symbol(binance_symbol: str) -> str:
    """BTCUSDT -> BTC-USDT (the sandbox only has USDT pairs)."""
    return binance_symbol.removesuffix("USDT") + "-USDT"


def _ok(data: Any) -> Response:
    return json_response({"code": OK, "data": data})


def _invalid(name: str) -> UpstreamError:
    return UpstreamError("400100", f"{name} invalid")


_int = partial(int_param, invalid=_invalid)


def create_app(history: History) -> FastAPI:
    """The KuCoin spot REST app."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    pairs = {to_kucoin_symbol(s): s for s in history.symbols}

    answer_errors(app, code_msg_body)

    def symbol_of(request: Request, recorded_only: bool = False) -> str:
        symbol = request.query_params.get("symbol")
        if not symbol:
            raise _invalid("symbol")
        if symbol not in pairs or (recorded_only and symbol != RECORDED_SYMBOL):
            raise UpstreamError("400100", "Unsupported trading pair.")
        return symbol

    @app.get("/api/v1/timestamp")
    async def timestamp() -> Response:
        return json_response({"code": OK, "msg": "success", "data": history.now_ms()})

    @app.get("/api/v2/symbols")
    async def symbols(request: Request) -> Response:
        market = request.query_params.get("market")
        listing = load_json("kucoin/symbols_derived.json")
        return _ok([s for s in listing if s["symbol"] in pairs and (market is None or s["market"] == market)])

    @app.get("/api/v3/currencies")
    async def currencies() -> Response:
        return _ok(load_json("kucoin/currencies_derived.json"))

    @app.get("/api/v1/market/allTickers")
    async def all_tickers() -> Response:
        # Derived: the recorded BTC-USDT 24h stats, in the allTickers item layout (no other pair was recorded).
        stats = dict(load_json("kucoin/market_stats_BTC-USDT.json")["data"])
        stamp = stats.pop("time")
        item = {"symbol": stats.pop("symbol"), "symbolName": RECORDED_SYMBOL, **stats}
        return _ok({"time": stamp, "ticker": [item]})

    @app.get("/api/v1/market/stats")
    async def stats(request: Request) -> Response:
        symbol_of(request, recorded_only=True)
        return json_response(load_json("kucoin/market_stats_BTC-USDT.json"))

    @app.get("/api/v1/market/orderbook/level2_20")
    @app.get("/api/v1/market/orderbook/level2_100")
    async def orderbook(request: Request) -> Response:
        # level2_100 (ccxt's default depth) reuses the level2_20 recording: same layout, and it only kept 2 levels.
        symbol_of(request, recorded_only=True)
        return json_response(load_json("kucoin/orderbook_level2_20_BTC-USDT.json"))

    @app.get("/api/v1/market/histories")
    async def histories(request: Request) -> Response:
        symbol_of(request, recorded_only=True)
        return json_response(load_json("kucoin/trade_histories_BTC-USDT.json"))

    @app.get("/api/v1/market/candles")
    async def candles(request: Request) -> Response:
        symbol = symbol_of(request)
        kind = request.query_params.get("type")
        if kind not in CANDLE_TYPES:
            raise UpstreamError("400100", "Unsupported type")
        start_s, end_s = _int(request, "startAt", 0), _int(request, "endAt", 0)
        series = history.series(pairs[symbol], CANDLE_TYPES[kind])
        start = start_s * 1000 if start_s > 0 else None
        # endAt is exclusive; 0 means "up to now".
        end = end_s * 1000 - 1 if end_s > 0 else None
        rows = series.select(start, end, MAX_CANDLES, from_end=True)
        # Newest first; turnover is not in the source history, so it is "0" (never invented).
        data = [[str(c.t // 1000), c.o, c.c, c.h, c.l, c.v, "0"] for c in reversed(rows)]
        return _ok(data)

    return app
