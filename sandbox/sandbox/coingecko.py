"""CoinGecko v3 (api.coingecko.com/api/v3): recorded pages, and OHLC / market charts built from real history."""

from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from sandbox import market
from sandbox.fixtures import load_json
from sandbox.history import DAY, INTERVALS, History
from sandbox.params import int_param
from sandbox.responses import UpstreamError, answer_errors, json_response

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


SIMPLE_FLAGS = (
    ("include_market_cap", "usd_market_cap"),
    ("include_24hr_vol", "usd_24h_vol"),
    ("include_24hr_change", "usd_24h_change"),
    ("include_last_updated_at", "last_updated_at"),
)
MINUTE_S = 60  # CoinGecko refreshes prices about once a minute
# Market charts: CoinGecko gives hourly points up to 90 days and daily ones beyond (5-minute ones for 1 day,
# which the hourly history cannot give).
HOURLY_MAX_DAYS = 90
RECORDED_CHART_COIN = "bitcoin"
RECORDED_CHART_DAYS = 7


def _error(status: int, message: str) -> UpstreamError:
    # CoinGecko's errors carry no code.
    return UpstreamError(None, message, status)


def error_body(error: UpstreamError) -> dict[str, Any]:
    """CoinGecko's {"error"} body."""
    return {"error": error.msg}


_int = partial(int_param, invalid=lambda _: _error(400, "invalid per_page or page"))


def _require_usd(request: Request) -> None:
    # Only usd was recorded.
    if request.query_params.get("vs_currency", "").lower() != "usd":
        raise _error(400, "invalid vs_currency")


def _usd_coin(coin_id: str, request: Request) -> str:
    """The history symbol of a known coin asked in usd."""
    symbol = COIN_SYMBOLS.get(coin_id)
    if symbol is None:
        raise _error(404, "coin not found")
    _require_usd(request)
    return symbol


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() == "true"


def _days(raw: str) -> Decimal | None:
    """Positive number of days, or None when invalid ("max" is handled by the caller)."""
    try:
        days = Decimal(raw)
    except (InvalidOperation, ValueError):
        return None
    return days if days.is_finite() and days > 0 else None


def chart_points(history: History, symbol: str, start: int, end: int, interval: str,
                 now: int | None = None) -> list[list[float]]:
    """[t, close] points of the shifted history between start and end (ms, inclusive).

    Each complete candle is stamped with its close time; the candle in progress is stamped now,
    so the last point of a window reaching the present is the current price. A caller whose `end` is
    "now" passes the same `now`, so a clock tick between two reads cannot drop the current point.
    """
    length = INTERVALS[interval][0]
    now = history.now_ms() if now is None else now
    points = []
    for candle in history.series(symbol, interval).select(start - length, end):
        stamp = min(candle.t + length, now)
        if start <= stamp <= end:
            points.append([stamp, float(candle.c)])
    return points


def recorded_chart(history: History, days: Decimal) -> dict[str, list[list[float]]]:
    """The recorded 7-day bitcoin chart shifted so its last point is now, cut to the last `days` days."""
    chart = load_json("coingecko/coins_bitcoin_market_chart_usd_days7.json")
    now = history.now_ms()
    shift = now - chart["prices"][-1][0]
    start = now - int(days * DAY)
    return {key: [[t + shift, value] for t, value in rows if t + shift >= start] for key, rows in chart.items()}


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


def simple_figures(history: History, coin: dict[str, Any], now: int) -> dict[str, Any]:
    """A coin's /simple/price figures: for bitcoin and ethereum derived from the history at now (see
    data/README.md), for the other coins those of the recorded markets page."""
    symbol = COIN_SYMBOLS.get(coin["id"])
    if symbol is None:
        return {"usd": coin["current_price"], "usd_market_cap": coin["market_cap"],
                "usd_24h_vol": coin["total_volume"], "usd_24h_change": coin["price_change_percentage_24h"],
                "last_updated_at": int(datetime.fromisoformat(coin["last_updated"]).timestamp())}
    d = market.day(history, symbol, now)
    return {"usd": float(d.last), "usd_market_cap": float(Decimal(str(coin["circulating_supply"])) * d.last),
            "usd_24h_vol": float(d.quote_volume), "usd_24h_change": float(d.change_ratio * 100),
            "last_updated_at": now // 1000 // MINUTE_S * MINUTE_S}


def create_app(history: History) -> FastAPI:
    """The CoinGecko v3 app."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    answer_errors(app, error_body)

    @app.get(f"{PREFIX}/ping")
    async def ping() -> Response:
        return json_response({"gecko_says": "(V3) To the Moon!"})

    @app.get(f"{PREFIX}/coins/markets")
    async def markets(request: Request) -> Response:
        q = request.query_params
        _require_usd(request)
        order = q.get("order", "market_cap_desc")
        if order not in ORDERS:
            raise _error(400, "invalid order")
        per_page, page = _int(request, "per_page", 100), _int(request, "page", 1)
        per_page, page = max(1, min(per_page, 250)), max(1, page)
        coins = load_json("coingecko/coins_markets_usd_per100_page1.json")
        category = q.get("category")
        if category:
            members = load_json("coingecko_categories.json").get(category)
            if members is None:
                raise _error(404, "category not found")
            coins = [c for c in coins if c["id"] in set(members)]
        if q.get("ids"):
            wanted = {i.strip() for i in q["ids"].split(",") if i.strip()}
            coins = [c for c in coins if c["id"] in wanted]
        ordered = sort_markets(coins, order)
        return json_response(ordered[(page - 1) * per_page: page * per_page])

    @app.get(PREFIX + "/coins/{coin_id}/ohlc")
    async def ohlc(coin_id: str, request: Request) -> Response:
        symbol = _usd_coin(coin_id, request)
        raw_days = request.query_params.get("days", "")
        if raw_days == "max":
            days = None
        else:
            try:
                days = int(Decimal(raw_days))
            except (ArithmeticError, ValueError):
                raise _error(400, "invalid days") from None
            if days < 1:
                raise _error(400, "invalid days")
        interval = ohlc_interval(days)
        length = INTERVALS[interval][0]
        start = None if days is None else history.now_ms() - days * DAY
        rows = history.series(symbol, interval).select(start)
        # CoinGecko stamps each OHLC row with the candle's close time; prices are USDT served as usd.
        return json_response([[c.t + length, float(c.o), float(c.h), float(c.l), float(c.c)] for c in rows])

    @app.get(PREFIX + "/coins/{coin_id}/market_chart")
    async def market_chart(coin_id: str, request: Request) -> Response:
        symbol = _usd_coin(coin_id, request)
        q = request.query_params
        interval = q.get("interval", "")
        if interval not in ("", "daily", "hourly"):
            raise _error(400, "invalid interval")
        raw_days = q.get("days", "")
        days = None if raw_days == "max" else _days(raw_days)
        if days is None and raw_days != "max":
            raise _error(400, "invalid days")
        if coin_id == RECORDED_CHART_COIN and days is not None and days <= RECORDED_CHART_DAYS and interval != "daily":
            return json_response(recorded_chart(history, days))
        daily = interval == "daily" or (interval != "hourly" and (days is None or days > HOURLY_MAX_DAYS))
        now = history.now_ms()
        start = 0 if days is None else now - int(days * DAY)
        prices = chart_points(history, symbol, start, now, "1d" if daily else "1h", now=now)
        # The history has no market cap, and CoinGecko's volume is a 24h all-exchange figure: both stay empty.
        return json_response({"prices": prices, "market_caps": [], "total_volumes": []})

    @app.get(PREFIX + "/coins/{coin_id}/market_chart/range")
    async def market_chart_range(coin_id: str, request: Request) -> Response:
        symbol = _usd_coin(coin_id, request)
        q = request.query_params
        try:
            start, end = int(Decimal(q.get("from", "")) * 1000), int(Decimal(q.get("to", "")) * 1000)
        except (InvalidOperation, ValueError):
            raise _error(400, "invalid from or to") from None
        if end < start:
            raise _error(400, "invalid from or to")
        daily = end - start > HOURLY_MAX_DAYS * DAY
        prices = chart_points(history, symbol, start, end, "1d" if daily else "1h")
        return json_response({"prices": prices, "market_caps": [], "total_volumes": []})

    @app.get(f"{PREFIX}/simple/price")
    async def simple_price(request: Request) -> Response:
        q = request.query_params
        currencies = [c.strip().lower() for c in q.get("vs_currencies", "").split(",") if c.strip()]
        # Prices come from the USDT history and the recorded usd markets page, so usd is the only currency.
        if not currencies or any(c != "usd" for c in currencies):
            raise _error(400, "invalid vs_currency")
        wanted = [i.strip() for i in q.get("ids", "").split(",") if i.strip()]
        if not wanted:
            raise _error(400, "missing ids")
        by_id = {c["id"]: c for c in load_json("coingecko/coins_markets_usd_per100_page1.json")}
        now = history.now_ms()
        result = {}
        for coin_id in wanted:
            coin = by_id.get(coin_id)
            if coin is None:
                continue  # CoinGecko leaves unknown ids out
            figures = simple_figures(history, coin, now)
            entry = {"usd": figures["usd"]}
            for flag, key in SIMPLE_FLAGS:
                if _flag(request, flag):
                    entry[key] = figures[key]
            result[coin_id] = entry
        return json_response(result)

    @app.get(f"{PREFIX}/global")
    async def global_stats() -> Response:
        return json_response(load_json("coingecko/global.json"))

    @app.get(f"{PREFIX}/coins/list")
    async def coins_list() -> Response:
        return json_response(load_json("coingecko/coins_list_subset.json"))

    return app
