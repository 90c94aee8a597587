"""CoinGecko v3 (api.coingecko.com/api/v3): the recorded markets page and OHLC built from real history."""

from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from sandbox.fixtures import load_json
from sandbox.history import DAY, INTERVALS, History
from sandbox.responses import json_response

PREFIX = "/api/v3"
COIN_SYMBOLS = {"bitcoin": "BTCUSDT", "ethereum": "ETHUSDT"}
ORDERS = {
    "market_cap_desc": ("market_cap", True),
    "market_cap_asc": ("market_cap", False),
    "volume_desc": ("total_volume", True),
    "volume_asc": ("total_volume", False),
    "id_asc": ("id", False),
    "id_desc": ("id", True),
}


def _error(status: int, message: str) -> Response:
    return json_response({"error": message}, status_code=status)


def _int(request: Request, name: str, default: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def ohlc_interval(days: int | None) -> str:
    """CoinGecko's automatic OHLC granularity (1-2 days would be 30-minute candles; hourly is the finest we have)."""
    if days is None or days > 30:
        return "4d"
    return "1h" if days <= 2 else "4h"


def sort_markets(coins: list[dict[str, Any]], order: str) -> list[dict[str, Any]]:
    """Coins in the requested order; the recorded page is already market_cap_desc, so ties keep its order."""
    field, descending = ORDERS[order]
    if order == "market_cap_desc":
        return list(coins)
    return sorted(coins, key=lambda c: c[field], reverse=descending)


def create_app(history: History) -> FastAPI:
    """The CoinGecko v3 app."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get(f"{PREFIX}/ping")
    async def ping() -> Response:
        return json_response({"gecko_says": "(V3) To the Moon!"})

    @app.get(f"{PREFIX}/coins/markets")
    async def markets(request: Request) -> Response:
        q = request.query_params
        # Only the usd page was recorded.
        if q.get("vs_currency", "").lower() != "usd":
            return _error(400, "invalid vs_currency")
        order = q.get("order", "market_cap_desc")
        if order not in ORDERS:
            return _error(400, "invalid order")
        per_page, page = _int(request, "per_page", 100), _int(request, "page", 1)
        if per_page is None or page is None:
            return _error(400, "invalid per_page or page")
        per_page, page = max(1, min(per_page, 250)), max(1, page)
        coins = load_json("coingecko/coins_markets_usd_per100_page1.json")
        category = q.get("category")
        if category:
            members = load_json("coingecko_categories.json").get(category)
            if members is None:
                return _error(404, "category not found")
            coins = [c for c in coins if c["id"] in set(members)]
        if q.get("ids"):
            wanted = {i.strip() for i in q["ids"].split(",") if i.strip()}
            coins = [c for c in coins if c["id"] in wanted]
        ordered = sort_markets(coins, order)
        return json_response(ordered[(page - 1) * per_page: page * per_page])

    @app.get(PREFIX + "/coins/{coin_id}/ohlc")
    async def ohlc(coin_id: str, request: Request) -> Response:
        symbol = COIN_SYMBOLS.get(coin_id)
        if symbol is None:
            return _error(404, "coin not found")
        if request.query_params.get("vs_currency", "").lower() != "usd":
            return _error(400, "invalid vs_currency")
        raw_days = request.query_params.get("days", "")
        if raw_days == "max":
            days = None
        else:
            try:
                days = int(Decimal(raw_days))
            except (ArithmeticError, ValueError):
                return _error(400, "invalid days")
            if days < 1:
                return _error(400, "invalid days")
        interval = ohlc_interval(days)
        length = INTERVALS[interval][0]
        start = None if days is None else history.now_ms() - days * DAY
        rows = history.series(symbol, interval).select(start)
        # CoinGecko stamps each OHLC row with the candle's close time; prices are USDT served as usd.
        return json_response([[c.t + length, float(c.o), float(c.h), float(c.l), float(c.c)] for c in rows])

    return app
