"""KuCoin spot REST (api.kucoin.com): derived listings, time-shifted candles, and 24-hour stats, books and trades
derived from the same history (sandbox.market; see data/README.md)."""

from decimal import Decimal
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from sandbox import market
from sandbox.fixtures import load_json
from sandbox.history import History
from sandbox.market import plain
from sandbox.params import int_param
from sandbox.responses import UpstreamError, answer_errors, code_msg_body, json_response

OK = "200000"
CANDLE_TYPES = {"1min": "1m", "5min": "5m", "15min": "15m", "1hour": "1h", "4hour": "4h", "1day": "1d", "1week": "1w"}
MAX_CANDLES = 1500
# Only BTC-USDT stats, books and trades were recorded; ETH-USDT reuses them for everything that is not a price.
STATS_FILE = "kucoin/market_stats_BTC-USDT.json"
BOOK_FILE = "kucoin/orderbook_level2_20_BTC-USDT.json"
TRADES_FILE = "kucoin/trade_histories_BTC-USDT.json"
CHANGE_RATE = Decimal("0.0001")  # changeRate has 4 decimals, as recorded
NS_PER_MS = 1_000_000  # trade times are in nanoseconds


def to_kucoin_symbol(binance_symbol: str) -> str:
    """BTCUSDT -> BTC-USDT (the sandbox only has USDT pairs)."""
    return binance_symbol.removesuffix("USDT") + "-USDT"


def _ok(data: Any) -> Response:
    return json_response({"code": OK, "data": data})


def _invalid(name: str) -> UpstreamError:
    return UpstreamError("400100", f"{name} invalid")


_int = partial(int_param, invalid=_invalid)


def stats(history: History, pair: str, symbol: str, now: int) -> dict[str, Any]:
    """`GET /api/v1/market/stats` data of pair at now: prices and volumes from the history, the rest as recorded."""
    recorded = load_json(STATS_FILE)["data"]
    d = market.day(history, symbol, now)
    last = recorded["last"]
    return {**recorded, "time": now, "symbol": pair,
            "buy": plain(market.scale(recorded["buy"], last, d.last)),
            "sell": plain(market.scale(recorded["sell"], last, d.last)),
            "changeRate": plain(d.change_ratio.quantize(CHANGE_RATE)), "changePrice": plain(d.change),
            "high": plain(d.high), "low": plain(d.low), "vol": plain(d.volume), "volValue": plain(d.quote_volume),
            "last": plain(d.last), "averagePrice": plain(d.average)}


def order_book(history: History, symbol: str, now: int) -> dict[str, Any]:
    """Level-2 book data: the recorded book re-priced around the current price, time = now."""
    recorded = load_json(BOOK_FILE)["data"]
    mid = market.book_mid(recorded["bids"], recorded["asks"])
    current = market.current_price(history, symbol, now)
    return {**recorded, "time": now,
            **{side: market.reprice_levels(recorded[side], mid, current, plain) for side in ("bids", "asks")}}


def trade_histories(history: History, symbol: str, now: int) -> list[dict[str, Any]]:
    """Trade histories: the recorded trades re-priced and re-timed so the newest is the current price at now."""
    recorded = load_json(TRADES_FILE)["data"]
    newest = max(recorded, key=lambda t: t["time"])
    current = market.current_price(history, symbol, now)
    offset = market.retime_offset([t["time"] for t in recorded], now * NS_PER_MS)
    return [{**t, "price": plain(market.scale(t["price"], newest["price"], current)), "time": t["time"] + offset}
            for t in recorded]


def create_app(history: History) -> FastAPI:
    """The KuCoin spot REST app."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    pairs = {to_kucoin_symbol(s): s for s in history.symbols}

    answer_errors(app, code_msg_body)

    def symbol_of(request: Request) -> str:
        symbol = request.query_params.get("symbol")
        if not symbol:
            raise _invalid("symbol")
        if symbol not in pairs:
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
        # The stats of every pair in the allTickers item layout: time moves to the top, symbolName = symbol.
        now = history.now_ms()
        items = []
        for pair, symbol in pairs.items():
            item = stats(history, pair, symbol, now)
            del item["time"]
            items.append({"symbol": pair, "symbolName": pair, **item})
        return _ok({"time": now, "ticker": items})

    @app.get("/api/v1/market/stats")
    async def market_stats(request: Request) -> Response:
        pair = symbol_of(request)
        return _ok(stats(history, pair, pairs[pair], history.now_ms()))

    @app.get("/api/v1/market/orderbook/level2_20")
    @app.get("/api/v1/market/orderbook/level2_100")
    async def orderbook(request: Request) -> Response:
        # level2_100 (ccxt's default depth) reuses the level2_20 recording: same layout, and it only kept 2 levels.
        pair = symbol_of(request)
        return _ok(order_book(history, pairs[pair], history.now_ms()))

    @app.get("/api/v1/market/histories")
    async def histories(request: Request) -> Response:
        pair = symbol_of(request)
        return _ok(trade_histories(history, pairs[pair], history.now_ms()))

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
