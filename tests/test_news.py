"""news-svc end to end through traefik on the sandbox, with two news-svc replicas (one poller): the recorded
articles served once each with their fields, filters giving exactly the expected recorded articles, a new
item reaching the API, NATS and a websocket client once, each source failing, MongoDB down, sentiment
figures traced to their sources, and scoring a caller's texts."""

import asyncio
import calendar
import json
import statistics
import time

import httpx
import nats
import orjson
import pytest
import websockets

from dm_shared.health import DOWN, OK

from devstack.catalogue import CATALOGUE, replica
from news_svc.adapters.rss import parse
from news_svc.settings import Feed

from contract import Contract
from helpers import SANDBOX_DATA, recorded, running_suite, sandbox_control

ENV = {
    "NEWS_POLL_SECONDS": json.dumps({"rss": 1, "cryptopanic": 1, "newsapi": 1, "alternative_me": 1, "components": 1}),
    "NEWS_CRYPTOPANIC_API_KEY": "sandbox-key", "NEWS_NEWSAPI_API_KEY": "sandbox-key",
    "NEWS_BUDGETS": json.dumps({"cryptopanic": 100_000, "newsapi": 100_000}),
    "NEWS_UPSTREAM_TIMEOUT": "1.5", "NEWS_BREAKER_THRESHOLD": "1000",
    "NEWS_LEASE_TTL_SECONDS": "4", "NEWS_LEASE_RENEW_SECONDS": "1",
    "GATEWAY_CACHE_TTL": json.dumps({"news": 1, "sentiment": 1}),
}
FEEDS = {"CoinDesk": "rss/coindesk_arc_outboundfeeds_rss_2023-03-13.xml",
         "Cointelegraph": "rss/cointelegraph_rss_2026-09-30_first5items.xml"}
CRYPTOPANIC = "cryptopanic/free_v1_posts_public_true_2025-02-26.json"
NEWSAPI = "newsapi/v2_everything_crypto.json"


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
    with sandbox_control(stack) as control:
        yield control


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
        query = {"limit": 100, "language": "all", **params, **({"cursor": cursor} if cursor else {})}
        response = api.get("/api/news/latest", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        found += body["news"]
        cursor = body["next_cursor"]
        if cursor is None:
            assert body["total"] == len(found)
            return found


def titles(articles: list[dict]) -> set[str]:
    return {a["title"] for a in articles}


def news_components(api) -> dict:
    return api.get("/health").json()["components"]["news-svc"]["components"]


RECORDED_RSS = {title for name, path in FEEDS.items()
                for title in (i.title for i in parse((SANDBOX_DATA / path).read_bytes(), Feed(name=name, url="x:/")))}
RECORDED_POSTS = recorded(CRYPTOPANIC)["results"]
RECORDED_NEWSAPI = [a for a in recorded(NEWSAPI)["articles"] if a["title"] != "[Removed]"]


@pytest.fixture(scope="module")
def ingested(api) -> list[dict]:
    """Every recorded article, once the poller has read every source."""
    wanted = RECORDED_RSS | {p["title"] for p in RECORDED_POSTS}
    return wait_for(lambda: wanted <= titles(found := everything(api)) and len(found) >= 90 and found, 90)


def test_every_recorded_article_is_served_once_with_its_fields(ingested):
    assert len(ingested) == len(titles(ingested))  # each story once
    assert titles(ingested) >= RECORDED_RSS
    assert {a["title"].strip() for a in RECORDED_NEWSAPI} <= {t.strip() for t in titles(ingested)}
    post = next(p for p in RECORDED_POSTS if p["title"] == "SEC Drops Uniswap Case—UNI Token Soars!")
    uni = next(a for a in ingested if a["title"] == post["title"])
    assert uni["source"] == post["source"]["title"] and uni["providers"] == ["cryptopanic"]
    assert uni["url"] == post["url"].split("?")[0]  # mtm_campaign, a tracking parameter, is gone
    assert uni["votes"] == post["votes"] and uni["attribution"].startswith("News via CryptoPanic")
    assert uni["related_symbols"] == ["UNI"] and uni["categories"] == ["defi"] and uni["language"] == "en"
    assert uni["sentiment"] in ("positive", "negative", "neutral") and -1 <= uni["sentiment_score"] <= 1
    assert uni["sentiment_model"].startswith("dm-textcnn-minilm@1.0+")
    assert uni["sentiment_probabilities"][uni["sentiment"]] == max(uni["sentiment_probabilities"].values())
    neo_html = next(a for a in ingested if a["title"].startswith("Bitcoin, U.S. Stock Futures Erase"))
    assert neo_html["source"] == "CoinDesk" and neo_html["image_url"].startswith("https://www.coindesk.com/resizer/")
    times = [a["published_at"] for a in ingested]
    assert times == sorted(times, reverse=True) and all(t.endswith("Z") for t in times)


def test_an_unchanged_feed_costs_a_304(api, sandbox, ingested):
    sandbox.reset_counts()
    since = time.time() * 1000
    wait_for(lambda: sandbox.count("rss", "/arc/outboundfeeds/rss/") >= 1, 10)
    polled = wait_for(lambda: (c := news_components(api)["rss.coindesk"])["last_poll"].get("polled_at", 0)
                      > since and c, 10)
    assert polled["last_poll"]["not_modified"] is True and polled["status"] == OK


def test_filters_give_exactly_the_expected_recorded_articles(api, ingested):
    assert titles(everything(api, symbol="uni")) == {
        "SEC Drops Uniswap Case—UNI Token Soars!",
        "USDC Trading Dominates Record Day for DeFi Exchanges Uniswap, Curve"}
    assert titles(everything(api, symbol="XRP/USDT")) == {
        "Ripple Had ‘Some Exposure’ to Silicon Valley Bank, Says CEO",
        "XRP Price Could Soon Rally 30% Towards $0.40 After Parabolic Surge"}
    assert titles(everything(api, language="es")) == {
        "Mientras Twitter intentaba combatir los bulos, le surgió un problema incluso mayor",
        "España podría perder hasta 18 cajeros automáticos de bitcoins"}
    assert titles(everything(api, language="cs")) == {"Mladé nezajímá zlato, investují raději do Bitcoinu"}
    english = everything(api, language="en")
    assert len(english) == len(ingested) - 4 and all(a["language"] == "en" for a in english)
    assert titles(everything(api, category="defi")) == {
        "Euler DeFi Protocol Exploited for Nearly $185M",
        "DAI Depegs to Lifetime Lows as Stablecoin Rout Plagues Crypto",
        "USDC Trading Dominates Record Day for DeFi Exchanges Uniswap, Curve",
        "DeFi Protocol Curve’s $500M Stablecoin Pool Hammered as Traders Flee USDC",
        "DeFi Stablecoin Exchange mStable Expects 4 Buyout Bids: Source", "Here’s what happened in crypto today",
        "SEC Drops Uniswap Case—UNI Token Soars!", "Yield Farming Fuels Buzz Around DeFi, but Fundamentals Are Lagging"}
    assert titles(everything(api, category="nft")) == set()
    for label in ("positive", "negative", "neutral"):
        assert titles(everything(api, sentiment=label)) == {a["title"] for a in ingested if a["sentiment"] == label}
    assert titles(everything(api, source="Cointelegraph")) == titles(  # publishers match whatever their case
        a for a in ingested if a["source"].lower() == "cointelegraph")
    assert {a["providers"][0] for a in everything(api, source="newsapi")} == {"newsapi"}
    middle = ingested[len(ingested) // 2]
    since = everything(api, since=calendar.timegm(time.strptime(middle["published_at"], "%Y-%m-%dT%H:%M:%SZ")) * 1000)
    assert titles(since) == {a["title"] for a in ingested if a["published_at"] >= middle["published_at"]}


def test_pages_follow_one_another_by_cursor(api, ingested):
    pages, cursor = [], None
    for _ in range(3):
        body = api.get("/api/news/latest", params={"limit": 7, "language": "all",
                                                   **({"cursor": cursor} if cursor else {})}).json()
        pages += body["news"]
        cursor = body["next_cursor"]
        assert body["count"] == 7 and body["total"] >= len(ingested)
    first = api.get("/api/news/latest", params={"limit": 21, "language": "all"}).json()["news"]
    assert [a["id"] for a in pages] == [a["id"] for a in first]


@pytest.mark.parametrize("path, params, status, code", [
    ("/api/news/latest", {"limit": 0}, 422, "VALIDATION_ERROR"),
    ("/api/news/latest", {"limit": 101}, 422, "VALIDATION_ERROR"),
    ("/api/news/latest", {"category": "memes"}, 422, "VALIDATION_ERROR"),
    ("/api/news/latest", {"sentiment": "happy"}, 422, "VALIDATION_ERROR"),
    ("/api/news/latest", {"language": "english"}, 422, "VALIDATION_ERROR"),
    ("/api/news/latest", {"cursor": "not-a-cursor"}, 400, "BAD_REQUEST"),
    ("/api/news/latest", {"symbol": "NOTACOIN"}, 404, "INVALID_SYMBOL"),
    ("/api/sentiment/symbol/NOTACOIN", {}, 404, "INVALID_SYMBOL"),
    ("/api/sentiment/symbol/BTC", {"window_hours": 0}, 422, "VALIDATION_ERROR"),
    ("/api/sentiment/global/history", {"days": 0}, 422, "VALIDATION_ERROR"),
])
def test_bad_input_is_an_envelope_error(api, path, params, status, code):
    response = api.get(path, params=params)
    assert response.status_code == status and response.json()["error"]["code"] == code


def test_a_story_in_both_an_rss_feed_and_cryptopanic_appears_once(api, sandbox, ingested):
    item = sandbox.http.post("/_sandbox/news/items", json={"feed": "cointelegraph", "cryptopanic": True}).json()
    found = wait_for(lambda: [a for a in everything(api, since=int(time.time() - 600) * 1000)
                              if a["title"] == item["title"] and len(a["providers"]) == 2], 30)
    assert len(found) == 1
    article = found[0]
    assert sorted(article["providers"]) == ["cryptopanic", "rss"] and article["source"].lower() == "cointelegraph"
    assert article["url"] == item["link"].split("?")[0]  # the feed's link, without its utm_* parameters
    assert article["votes"] is not None and article["attribution"]
    assert sum(a["title"] == item["title"] for a in everything(api)) == 1


async def test_a_new_item_reaches_the_api_nats_and_a_websocket_client_once(stack, api, ingested):
    nc = await nats.connect(stack.url("nats"))
    on_bus: list[dict] = []

    async def heard(msg) -> None:
        on_bus.append(orjson.loads(msg.data))

    await nc.subscribe("news.article", cb=heard)
    ws_url = stack.url("traefik").replace("http://", "ws://") + "/ws"
    async with websockets.connect(ws_url) as ws, httpx.AsyncClient(base_url=stack.url("sandbox")) as control:
        await ws.recv()
        await ws.send(json.dumps({"action": "subscribe", "channel": "news"}))
        assert orjson.loads(await ws.recv())["type"] == "subscribed"
        item = (await control.post("/_sandbox/news/items", json={"feed": "coindesk"})).json()
        deadline, served = time.monotonic() + 30, []
        while not served and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            served = [a for a in (await asyncio.to_thread(everything, api, since=int(time.time() - 600) * 1000))
                      if a["title"] == item["title"]]
        assert len(served) == 1
        pushed: list[dict] = []
        try:
            while True:
                message = orjson.loads(await asyncio.wait_for(ws.recv(), 4))
                if message.get("channel") == "news":
                    pushed.append(message["data"])
        except TimeoutError:
            pass
    await nc.close()
    article = served[0]
    # Once each, and nothing else: the feed re-listed its older items (past what dedup keeps in memory) too.
    assert [m["id"] for m in pushed] == [article["id"]]
    assert [m["id"] for m in on_bus] == [article["id"]]
    message = next(m for m in on_bus if m["id"] == article["id"])
    assert message["type"] == "news_article" and message["related_symbols"] == article["related_symbols"]
    polling = [httpx.get(stack.url(name) + "/health").json()["polling"] for name in ("news", "news-1")]
    assert sorted(polling) == [False, True]  # two replicas, one poller


def test_global_sentiment_is_alternative_me_with_components_traced_to_their_data(api, ingested):
    body = wait_for(lambda: (b := api.get("/api/sentiment/global").json())["components"]["volatility"]["value"]
                    is not None and b, 20)
    newest = recorded("alternative_me/fng_limit0_full_history_2025-08-04.json")["data"][0]
    assert body["fearGreedIndex"] == int(newest["value"]) and body["value_classification"] == newest[
        "value_classification"]
    assert body["sentiment"] == "greed" and body["source"] == "alternative_me"
    assert body["last_updated"] == time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime())  # shifted to today
    parts = body["components"]
    for name in ("surveys", "trends"):
        assert parts[name]["value"] is None and parts[name]["reason"]
    candles = api.get("/api/ohlcv", params={"symbol": "BTC/USDT", "timeframe": "1d", "limit": 91}).json()["data"]
    closes = [c["c"] for c in candles]
    assert parts["market_momentum"]["raw"] == round((closes[-1] / closes[-8] - 1) * 100, 2)
    assert parts["volatility"]["method"] and parts["volatility"]["source"].startswith("market-svc /ohlcv")
    dominance = api.get("/api/stats/dominance").json()["dominance"]["BTC"]
    assert parts["dominance"]["value"] == round(dominance, 2)
    social = parts["social_media"]
    day = [a["sentiment_score"] for a in everything(api, since=int(time.time() - 86_400) * 1000)]
    assert social["sample_size"] >= len(day) - 5 and abs(social["raw"] - statistics.fmean(day)) < 0.05
    assert social["value"] == round((social["raw"] + 1) * 50, 1)
    history = api.get("/api/sentiment/global/history", params={"days": 7}).json()
    recorded_days = recorded("alternative_me/fng_limit0_full_history_2025-08-04.json")["data"][:7]
    assert [d["value"] for d in history["data"]] == [int(d["value"]) for d in recorded_days]
    assert [b["timestamp"] - a["timestamp"] for a, b in zip(history["data"][1:], history["data"], strict=False)] \
        == [86_400] * 6


def test_symbol_sentiment_is_the_mean_of_its_recent_articles(api, ingested):
    body = api.get("/api/sentiment/symbol/btc").json()
    day = everything(api, symbol="BTC", since=int(time.time() - 86_400) * 1000)
    scores = [a["sentiment_score"] for a in day]
    assert body["symbol"] == "BTC" and body["window_hours"] == 24
    assert body["sample_size"] == body["social_volume"] == len(day)
    assert body["news_sentiment"] == pytest.approx(statistics.fmean(scores), abs=1e-3)
    assert body["sentiment_score"] == body["news_sentiment"]
    assert 0 < body["social_dominance"] <= 100
    assert body["twitter_sentiment"] is None and body["reasons"]["twitter_sentiment"]
    assert body["reddit_sentiment"] is None and "Reddit" in body["reasons"]["reddit_sentiment"]
    empty = api.get("/api/sentiment/symbol/MNT").json()
    assert empty["news_sentiment"] is None and empty["sample_size"] == 0 and empty["reasons"]["news_sentiment"]


def test_analyze_scores_texts_with_the_active_model_and_shares_the_cache(api, ingested):
    title = ingested[0]["title"]
    response = api.post("/api/sentiment/analyze", json={"texts": [title, "Exchange hacked, withdrawals halted"]})
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "dm-textcnn-minilm" and body["model_version"].startswith("1.0+")
    first, second = body["results"]
    assert first["cached"] is True and first["label"] == ingested[0]["sentiment"]  # scored when ingested
    assert first["score"] == ingested[0]["sentiment_score"]
    assert second["cached"] is False and set(second["probabilities"]) == {"negative", "neutral", "positive"}
    assert api.post("/api/sentiment/analyze", json={"texts": ["x"] * 101}).status_code == 422
    assert api.post("/api/sentiment/analyze", json={"texts": ["x" * 2001]}).status_code == 422
    assert api.post("/api/sentiment/analyze", json={"texts": []}).status_code == 422
    assert api.get("/api/sentiment/analyze").status_code == 405


SOURCES = {"rss": ("rss", "/rss", "rss.cointelegraph", "Cointelegraph"),
           "cryptopanic": ("cryptopanic", None, "cryptopanic", "cryptopanic"),
           "newsapi": ("newsapi", None, "newsapi", "newsapi"),
           "alternative_me": ("alternative_me", None, "alternative_me", None)}
FAULTS = {"5xx": ({"mode": "status", "status": 500}, "UPSTREAM_ERROR"),
          "429": ({"mode": "rate_limit", "retry_after": 1}, "UPSTREAM_RATE_LIMITED"),
          "timeout": ({"mode": "delay", "delay": 3}, "UPSTREAM_TIMEOUT"),
          "malformed": ({"mode": "malformed"}, "UPSTREAM_BAD_RESPONSE"),
          "refused": ({"mode": "refuse"}, "UPSTREAM_UNAVAILABLE")}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("source", SOURCES)
def test_a_failing_source_is_named_in_health_and_stored_articles_stay_served(api, sandbox, ingested, source, fault):
    upstream, path, component, filter_by = SOURCES[source]
    options, code = FAULTS[fault]
    sandbox.fault(upstream, path=path, **options)
    failing = wait_for(lambda: (c := news_components(api)[component])["status"] == DOWN and c, 20)
    assert failing["last_poll"]["error"]["code"] == code
    others = [name for name in ("cryptopanic", "newsapi", "alternative_me") if name != component]
    assert all(news_components(api)[name]["status"] == OK for name in others)
    if filter_by:
        assert everything(api, source=filter_by)  # its stored articles are still served
    assert len(everything(api)) >= len(ingested)
    if source == "alternative_me":
        body = wait_for(lambda: (b := api.get("/api/sentiment/global").json())["provenance"]["stale"] and b, 10)
        assert body["fearGreedIndex"] == 64 and body["provenance"]["failed"][0]["code"] == code
    sandbox.clear()
    wait_for(lambda: news_components(api)[component]["status"] == OK, 20)


def test_mongodb_down_fails_news_reads_clearly_while_global_sentiment_answers(stack, api, ingested):
    stack.kill("mongo")
    try:
        time.sleep(1.2)  # past the gateway's 1 s TTL of the test run
        response = api.get("/api/news/latest", params={"limit": 59})
        assert response.status_code == 503 and response.json()["error"]["code"] == "STORE_UNAVAILABLE"
        symbol = api.get("/api/sentiment/symbol/ETH", params={"window_hours": 5})
        assert symbol.status_code == 503 and symbol.json()["error"]["code"] == "STORE_UNAVAILABLE"
        sentiment = api.get("/api/sentiment/global")
        assert sentiment.status_code == 200 and sentiment.json()["fearGreedIndex"] == 64
        assert news_components(api)["mongodb"]["status"] == DOWN
    finally:
        stack.start("mongo")
    wait_for(lambda: api.get("/api/news/latest", params={"limit": 61}).status_code == 200, 30)
