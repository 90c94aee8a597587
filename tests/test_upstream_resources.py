"""One client cannot starve everyone: market-svc fetches upstream resources, not client variants. Every
`/api/market` variant is cut from one page per (source, currency, category), and every history window from
canonical blocks per (source, symbol, granularity), so the upstream calls counted at the sandbox do not grow
with the variety of client queries. Its own suite, with page and block TTLs long enough that every request of
a test falls inside one TTL."""

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest

from contract import Contract
from helpers import SandboxControl, running_suite

MARKETS_PATH = "/api/v3/coins/markets"
BINANCE_TICKERS = "/api/v3/ticker/24hr"
TTL_SECONDS = 120
ENV = {"MARKET_PAGE_TTL_SECONDS": str(TTL_SECONDS)}


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
    sandbox = SandboxControl(stack.url("sandbox"))
    sandbox.clear()
    sandbox.reset_counts()
    yield sandbox
    sandbox.clear()
    sandbox.http.close()


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
