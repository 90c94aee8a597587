"""One meaning per field whatever the source: the same market (the sandbox derives every venue's answers
from one history), served by each source of an endpoint in turn, gives the primary's values within the
tolerance stated per field. Fields that are each venue's own market (funding rates, open interest) are
compared by unit and meaning, not value. Asked of market-svc directly (its answers pass the gateway
unchanged), so that no gateway cache stands between the sources; its page cache is waited out."""

import time

import pytest

from contract import Contract
from helpers import expire_market_pages


@pytest.fixture(scope="module")
def market(suite):
    with Contract.of(suite.url("market")).client(suite.url("market")) as client:
        yield client

# Faults that make each source fail in turn, for the fallback after it to answer.
PATHS = {"binance": "/api/v3", "kucoin": "/api/v1/market", "okx": "/api/v5/market", "coingecko": "/api/v3"}


def close(a: float | None, b: float | None, tolerance: float) -> bool:
    """Within a relative tolerance (both None counts as agreeing)."""
    if a is None or b is None:
        return a is b
    return abs(a - b) <= tolerance * max(abs(a), abs(b), 1e-12)


def by_each_source(market, sandbox, path: str, params: dict, order: list[str]) -> dict[str, dict]:
    """The answer as each source in `order` gives it, the earlier ones failing."""
    answers = {}
    for index, name in enumerate(order):
        sandbox.clear()
        for earlier in order[:index]:
            sandbox.fault(earlier, mode="status", status=500, path=PATHS[earlier])
        body = market.get(path, params=params).json()
        assert body["source"] == name, (name, body.get("provenance", body))
        answers[name] = body
    return answers


def test_ticker_fields_mean_the_same_from_every_venue(market, sandbox):
    answers = by_each_source(market, sandbox, "/v1/ticker/BTC", {}, ["binance", "kucoin", "okx"])
    primary = answers["binance"]
    for name, body in answers.items():
        assert body["last"] == primary["last"], name  # one price
        assert close(body["bid"], primary["bid"], 1e-5) and close(body["ask"], primary["ask"], 1e-5), name
        assert close(body["volume"], primary["volume"], 0.01), name  # quote currency, 1 %
        assert close(body["base_volume"], primary["base_volume"], 0.01), name  # base asset, 1 %
        assert abs(body["change_24h"] - primary["change_24h"]) < 0.01, name  # percent, to 0.01 points
        assert (body["high_24h"], body["low_24h"]) == (primary["high_24h"], primary["low_24h"]), name
        assert abs(body["exchange_timestamp"] - time.time() * 1000) < 60_000, name  # the venue's time, ms


def test_candles_mean_the_same_from_every_venue(market, sandbox):
    params = {"symbol": "BTC/USDT", "timeframe": "1h", "limit": 24}
    answers = by_each_source(market, sandbox, "/v1/ohlcv", params, ["binance", "kucoin", "okx"])
    primary = {c["t"]: c for c in answers["binance"]["data"]}
    for name, body in answers.items():
        for candle in body["data"][:-1]:  # the candle in progress moves between calls
            reference = primary[candle["t"]]  # the open time, in ms, from every venue
            assert [candle[k] for k in "ohlc"] == [reference[k] for k in "ohlc"], name
            assert close(candle["v"], reference["v"], 1e-9), name  # base-asset volume


def test_book_and_trades_mean_the_same_from_every_venue(market, sandbox):
    books = by_each_source(market, sandbox, "/v1/orderbook/BTC", {"limit": 2}, ["binance", "kucoin", "okx"])
    mid = lambda b: (b["bids"][0][0] + b["asks"][0][0]) / 2  # noqa: E731
    for name, body in books.items():
        assert close(mid(body), mid(books["binance"]), 0.001), name  # [price, base amount] levels, 0.1 %
    trades = by_each_source(market, sandbox, "/v1/trades/BTC", {"limit": 5}, ["binance", "kucoin", "okx"])
    last = books["binance"]["asks"][0][0]
    for name, body in trades.items():
        assert body["trades"] and all(close(t["price"], last, 0.01) and t["amount"] > 0 for t in body["trades"]), name
        assert all(t["side"] in ("buy", "sell") for t in body["trades"]), name  # the taker's side


@pytest.mark.parametrize("path", ["/v1/derivatives/funding/BTC", "/v1/derivatives/open-interest/BTC"])
def test_perpetual_fields_have_one_unit_from_every_venue(market, sandbox, path):
    sandbox.clear()
    primary = market.get(path).json()
    sandbox.fault("binance", mode="status", status=500, path="/fapi")
    fallback = market.get(path).json()
    assert (primary["source"], fallback["source"]) == ("binance", "okx")
    if "funding" in path:
        for body in (primary, fallback):  # a fraction per interval, charged on the same 8-hour boundary
            assert abs(body["funding_rate"]) < 0.01 and body["funding_time"] % (8 * 3_600_000) == 0
        assert primary["funding_time"] == fallback["funding_time"]
    else:
        assert primary["unit"] == fallback["unit"] == "BTC"  # base asset, not contracts
        assert 1_000 < fallback["open_interest"] < 1_000_000 and 1_000 < primary["open_interest"] < 1_000_000


def test_the_market_list_names_what_its_prices_and_volumes_are(market, sandbox):
    primary = market.get("/v1/market", params={"limit": 5}).json()
    assert (primary["source"], primary["price_currency"], primary["volume_scope"]) == ("coingecko", "USD", "aggregate")
    expire_market_pages()
    sandbox.fault("coingecko", mode="status", status=500, path="/api/v3/coins/markets")
    fallback = market.get("/v1/market", params={"limit": 5}).json()
    assert (fallback["source"], fallback["price_currency"], fallback["volume_scope"]) == ("binance", "USDT", "binance")
