"""Binance's market answers from the one market (sandbox.market): the 24-hour ticker shared by REST `ticker/24hr`
and the `<symbol>@ticker` stream, spot books and trades, and the USD-M futures figures (see data/README.md).

Only BTCUSDT books, trades and tickers were recorded: ETHUSDT answers reuse those recordings for everything that
is not a price (quantities, ids, counts), with prices from the ETHUSDT history.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sandbox import market
from sandbox.fixtures import load_json
from sandbox.history import DAY, History
from sandbox.market import fixed

TICKER_FILE = "binance/ticker_24hr_BTCUSDT.json"
DEPTH_FILE = "binance/depth_BTCUSDT_limit10.json"
TRADES_FILE = "binance/trades_BTCUSDT.json"
AGG_TRADES_FILE = "binance/aggTrades_BTCUSDT.json"
PREMIUM_FILE = "binance/fapi_premiumIndex_BTCUSDT_ccxt_comment.json"
OPEN_INTEREST_FILE = "binance/fapi_openInterest_BTCUSDT.json"
FUTURES_DEPTH_FILE = "binance/fapi_depth_BTCUSDT_limit5.json"
# The ccxt fixture stores these wire integers as strings (see data/README.md); Binance sends numbers.
TICKER_INT_FIELDS = ("firstId", "lastId", "count")
BOOK_FIELDS = ("symbol", "bidPrice", "bidQty", "askPrice", "askQty")


def ticker_24hr(history: History, symbol: str, now: int) -> dict[str, Any]:
    """`GET /api/v3/ticker/24hr` of symbol at now: prices from the history, the rest as recorded."""
    recorded = load_json(TICKER_FILE)
    d = market.day(history, symbol, now)
    last = recorded["lastPrice"]
    return {
        "symbol": symbol,
        "priceChange": fixed(d.change),
        "priceChangePercent": fixed(d.change_ratio * 100, 3),
        "weightedAvgPrice": fixed(d.average),
        "prevClosePrice": fixed(d.prev_close),
        "lastPrice": fixed(d.last),
        "lastQty": recorded["lastQty"],
        "bidPrice": fixed(market.scale(recorded["bidPrice"], last, d.last)),
        "bidQty": recorded["bidQty"],
        "askPrice": fixed(market.scale(recorded["askPrice"], last, d.last)),
        "askQty": recorded["askQty"],
        "openPrice": fixed(d.open),
        "highPrice": fixed(d.high),
        "lowPrice": fixed(d.low),
        "volume": fixed(d.volume),
        "quoteVolume": fixed(d.quote_volume),
        "openTime": now - DAY,
        "closeTime": now,
        **{field: int(recorded[field]) for field in TICKER_INT_FIELDS},
    }


def book_ticker(ticker: dict[str, Any]) -> dict[str, Any]:
    """`GET /api/v3/ticker/bookTicker`: the best bid and ask of the 24-hour ticker of the same moment."""
    return {field: ticker[field] for field in BOOK_FIELDS}


def price_ticker(ticker: dict[str, Any]) -> dict[str, Any]:
    """`GET /api/v3/ticker/price`: the last price of the 24-hour ticker of the same moment."""
    return {"symbol": ticker["symbol"], "price": ticker["lastPrice"]}


def _book(recorded: dict[str, Any], current: Decimal, limit: int) -> dict[str, list[list[str]]]:
    mid = market.book_mid(recorded["bids"], recorded["asks"])
    return {side: market.reprice_levels(recorded[side][:limit], mid, current, fixed) for side in ("bids", "asks")}


def depth(history: History, symbol: str, now: int, limit: int) -> dict[str, Any]:
    """`GET /api/v3/depth`: the recorded book re-priced around the current price."""
    recorded = load_json(DEPTH_FILE)
    return {"lastUpdateId": recorded["lastUpdateId"],
            **_book(recorded, market.current_price(history, symbol, now), limit)}


def trade_price(history: History, symbol: str, reference: str) -> Callable[[str, int], str]:
    """A function (recorded price, now) -> served price: re-priced so `reference` (the newest recorded trade's
    price) is the current price. REST trades and the trade stream share it."""

    def price(recorded: str, now: int) -> str:
        return fixed(market.scale(recorded, reference, market.current_price(history, symbol, now)))

    return price


def trades(history: History, symbol: str, now: int) -> list[dict[str, Any]]:
    """`GET /api/v3/trades`: the recorded trades re-priced and re-timed so the newest is now; ids kept."""
    recorded = load_json(TRADES_FILE)
    newest = max(recorded, key=lambda t: t["time"])
    price = trade_price(history, symbol, newest["price"])
    offset = market.retime_offset([t["time"] for t in recorded], now)
    rows = []
    for trade in recorded:
        served = price(trade["price"], now)
        rows.append({**trade, "price": served, "quoteQty": fixed((Decimal(served) * Decimal(trade["qty"]))
                                                                 .quantize(market.PLACES)),
                     "time": trade["time"] + offset})
    return rows


def agg_trades(history: History, symbol: str, now: int) -> list[dict[str, Any]]:
    """`GET /api/v3/aggTrades`: the recorded aggregate trades re-priced and re-timed like `trades`."""
    recorded = load_json(AGG_TRADES_FILE)
    newest = max(recorded, key=lambda t: t["T"])
    price = trade_price(history, symbol, newest["p"])
    offset = market.retime_offset([t["T"] for t in recorded], now)
    return [{**t, "p": price(t["p"], now), "T": t["T"] + offset} for t in recorded]


def premium_index(history: History, symbol: str, now: int) -> dict[str, Any]:
    """`GET /fapi/v1/premiumIndex`: index = the current price, mark and settle prices at their recorded ratio
    to the recorded index, the recorded rates, the next 8-hour settlement, time = now."""
    recorded = load_json(PREMIUM_FILE)
    current = market.current_price(history, symbol, now)
    index = recorded["indexPrice"]
    return {**recorded,
            "markPrice": fixed(market.scale(recorded["markPrice"], index, current)),
            "indexPrice": fixed(current),
            "estimatedSettlePrice": fixed(market.scale(recorded["estimatedSettlePrice"], index, current)),
            "nextFundingTime": market.next_funding(now),
            "time": now}


def open_interest(now: int) -> dict[str, Any]:
    """`GET /fapi/v1/openInterest`: the recorded open interest (BTC), time = now."""
    return {**load_json(OPEN_INTEREST_FILE), "time": now}


def futures_depth(history: History, symbol: str, now: int, limit: int) -> dict[str, Any]:
    """`GET /fapi/v1/depth`: the recorded book re-priced around the current price; E = now, T keeps its lag."""
    recorded = load_json(FUTURES_DEPTH_FILE)
    lag = int(recorded["E"]) - int(recorded["T"])
    return {"lastUpdateId": int(recorded["lastUpdateId"]), "E": now, "T": now - lag,
            **_book(recorded, market.current_price(history, symbol, now), limit)}
