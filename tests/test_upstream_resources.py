"""One client cannot starve everyone: market-svc fetches upstream resources, not client variants. Every
`/api/market` variant is cut from one page per (source, currency, category), and every history window from
canonical blocks per (source, symbol, granularity), so the upstream calls counted at the sandbox do not grow
with the variety of client queries. Its own suite, with page and block TTLs long enough that every request of
a test falls inside one TTL."""

import itertools
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from contract import Contract
from helpers import recorded_closes, running_suite, sandbox_control

MARKETS_PATH = "/api/v3/coins/markets"
BINANCE_TICKERS = "/api/v3/ticker/24hr"
CHART_PATH = "/api/v3/coins/bitcoin/market_chart/range"
KLINES_PATH = "/api/v3/klines"
CANDLES_PATH = "/api/v1/market/candles"
TTL_SECONDS = 120
ENV = {"MARKET_PAGE_TTL_SECONDS": str(TTL_SECONDS), "MARKET_HISTORY_TTL_SECONDS": str(TTL_SECONDS),
       "MARKET_HISTORY_CLOSED_TTL_SECONDS": "3600"}
HOUR, DAY = 3_600_000, 86_400_000
# The blocks of docs/market-data.md: 30 days of hourly data, 360 days of daily data, from the Unix epoch.
HOURLY_BLOCK, DAILY_BLOCK = 30 * DAY, 360 * DAY


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    components = ["redis", "nats", "mongo", "sandbox", "market", "gateway", "traefik"]
    with running_suite(tmp_path_factory.mktemp("resources"), ENV, components=components) as stack:
        yield stack


@pytest.fixture
def client(stack):
    with Contract.of(stack.url("traefik")).client(stack.url("traefik")) as client:
        yield client


@pytest.fixture
def control(stack):
    with sandbox_control(stack, reset_counts=True) as sandbox:
        yield sandbox


CURRENCIES = ("usd", "USD", "eur")  # usd and USD are one page; the sandbox's CoinGecko refuses eur (400)
CATEGORIES = ("all", "defi", "nft", "meme")


def market_variants(count: int) -> list[dict]:
    """`count` distinct /api/market queries: limits, sorts, ticker and id filters over two currencies (three
    spellings) and the four categories."""
    filters = ({}, {"symbols": "BTC,ETH"}, {"symbol": "SOL"}, {"ids": "bitcoin,tether"}, {"symbols": "xyz,btc"},
               {"ids": "uniswap"}, {"symbols": "DOGE,SHIB,PEPE"})
    shapes = itertools.product(CURRENCIES, CATEGORIES, ("rank", "volume", "price_change"), filters,
                               (1, 5, 17, 100, 250, 500))
    variants = [{"currency": currency, "category": category, "sort": sort, "limit": limit, **extra}
                for currency, category, sort, extra, limit in shapes]
    # spread over every currency and category, not the first few hundred of the product
    chosen = variants[::len(variants) // count][:count]
    assert len({tuple(sorted(v.items())) for v in chosen}) == count
    return chosen


def test_two_hundred_market_variants_cost_one_upstream_call_per_page(client, control):
    variants = market_variants(200)
    with ThreadPoolExecutor(max_workers=16) as pool:  # a fuzzer's pace: 16 in flight at once
        answers = list(pool.map(lambda params: client.get("/api/market", params=params), variants))
    for params, answer in zip(variants, answers, strict=True):
        if params["currency"] == "eur":  # nobody prices the sandbox's market in EUR: a 404 that says so
            assert answer.status_code == 404 and answer.json()["error"]["code"] == "NOT_SUPPORTED", answer.text
        else:
            assert answer.status_code == 200 and answer.json()["source"] == "coingecko", answer.text
    pages = {(p["currency"].lower(), p["category"]) for p in variants}
    assert len(pages) == 8
    coingecko = control.count("coingecko", MARKETS_PATH)
    binance = control.count("binance", BINANCE_TICKERS)
    print(f"200 variants: {coingecko} CoinGecko calls, {binance} Binance calls")
    # Every page was asked for, and no page twice within its TTL: exactly one CoinGecko call per page (the
    # sandbox holds 100 coins, one HTTP page). Binance's USDT list is one more page, fetched only if a hedge
    # started it beside a slow CoinGecko.
    assert coingecko == len(pages)
    assert binance <= 1


def get_all(client, path: str, windows: list[dict]) -> list[dict]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda params: client.get(path, params=params), windows))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.status_code != 200]
    return [a.json() for a in answers]


def closed_block(size: int, now: int) -> tuple[int, int]:
    """The last block of `size` that ended before now."""
    end = now - now % size
    return end - size, end


def assert_prices_at_their_times(answers: list[dict], windows: list[dict], interval_ms: int | None) -> None:
    """Each point is the recorded close of the candle ending at its timestamp, on the interval's boundaries
    from `from` to `to`: what any window always answered."""
    closes = recorded_closes("BTCUSDT")
    for window, answer in zip(windows, answers, strict=True):
        stamps = [p["timestamp"] for p in answer["data"]]
        assert stamps and window["from"] <= stamps[0] and stamps[-1] <= window["to"], (window, stamps[:2])
        if interval_ms:
            assert stamps == list(range(stamps[0], stamps[-1] + 1, interval_ms))
            assert stamps[0] - interval_ms < window["from"] and stamps[-1] + interval_ms > window["to"]
        assert all(p["price"] == closes[p["timestamp"]] for p in answer["data"]), window


def test_many_history_windows_inside_one_block_cost_one_upstream_call_per_source(client, control):
    now = int(time.time() * 1000)
    start, end = closed_block(HOURLY_BLOCK, now)
    hourly = [{"from": start + HOUR * k + j * 60_000, "to": start + HOUR * (k + span) - j * 60_000, "interval": "1h"}
              for k, span, j in itertools.product((1, 50, 333, 600), (2, 24, 100), (0, 7, 29))
              if start + HOUR * (k + span) <= end]
    start, end = closed_block(DAILY_BLOCK, now)
    daily = [{"from": start + DAY * k, "to": start + DAY * (k + span) - 1, "interval": interval}
             for interval, k, span in itertools.product(("1d", "1w", "1M"), (31, 90, 200), (62, 150))
             if start + DAY * (k + span) <= end]
    assert len(hourly) >= 30 and len(daily) >= 12

    first = get_all(client, "/api/history/price/BTC", hourly[:1])[0]
    answers = [first, *get_all(client, "/api/history/price/BTC", hourly[1:])]
    assert all(a["source"] == "coingecko" for a in answers)
    assert control.count("coingecko", CHART_PATH) == 1  # every window, one block of hourly observations
    assert_prices_at_their_times(answers, hourly, HOUR)
    # the others were cut from the block the first one fetched, and say so, with the block's fetch time
    assert first["provenance"]["cached"] is False
    fetched = {a["provenance"]["fetched_at"] for a in answers[1:]}
    assert all(a["provenance"]["cached"] for a in answers[1:]) and len(fetched) == 1
    assert 0 <= first["provenance"]["fetched_at"] - fetched.pop() < 1000

    answers = get_all(client, "/api/history/price/BTC", daily)  # days, weeks and months: one daily block
    assert control.count("coingecko", CHART_PATH) == 2
    assert_prices_at_their_times([a for a, w in zip(answers, daily, strict=True) if w["interval"] == "1d"],
                                 [w for w in daily if w["interval"] == "1d"], DAY)
    assert_prices_at_their_times(answers, daily, None)

    # CoinGecko down (its block above stays cached: its data is final): for windows in the block before,
    # Binance's candles, one call per block of candles as well
    # (counted from here: a hedge beside a slow CoinGecko may have asked Binance for the blocks above already)
    control.fault("coingecko", mode="status", status=503, path="/api/v3/coins/bitcoin")
    windows = [{**w, "from": w["from"] - HOURLY_BLOCK, "to": w["to"] - HOURLY_BLOCK} for w in hourly]
    binance_before = control.count("binance", KLINES_PATH)
    answers = get_all(client, "/api/history/price/BTC", windows)
    assert all(a["source"] == "binance" and a["provenance"]["failed"][0]["source"] == "coingecko" for a in answers)
    assert control.count("binance", KLINES_PATH) - binance_before == 1
    assert_prices_at_their_times(answers, windows, HOUR)

    # and Binance too: KuCoin's candles, one call per block
    control.fault("binance", mode="status", status=500, path=KLINES_PATH)
    windows = [{**w, "from": w["from"] - HOURLY_BLOCK, "to": w["to"] - HOURLY_BLOCK} for w in windows]
    kucoin_before = control.count("kucoin", CANDLES_PATH)  # (a hedge beside a slow Binance, likewise)
    answers = get_all(client, "/api/history/price/BTC", windows)
    assert all(a["source"] == "kucoin" for a in answers)
    assert control.count("kucoin", CANDLES_PATH) - kucoin_before == 1
    assert_prices_at_their_times(answers, windows, HOUR)
