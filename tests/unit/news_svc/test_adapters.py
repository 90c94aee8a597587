"""Recorded payloads through each news adapter's mapping, with no server."""

import json
from datetime import UTC, datetime

import pytest

from dm_shared.errors import UpstreamBadResponseError

from news_svc.adapters import alternative_me, cryptopanic, newsapi, rss
from news_svc.settings import Feed

from helpers import SANDBOX_DATA

COINDESK = Feed(name="CoinDesk", url="https://www.coindesk.com/arc/outboundfeeds/rss/")


def recorded(name: str) -> bytes:
    return (SANDBOX_DATA / name).read_bytes()


def test_coindesk_feed_items_keep_title_link_time_image_and_categories():
    items = rss.parse(recorded("rss/coindesk_arc_outboundfeeds_rss_2023-03-13.xml"), COINDESK)
    assert len(items) == 50
    first = items[0]
    assert first.title.startswith("Bitcoin, U.S. Stock Futures Erase Early Gains as First Republic Bank Tanks 50%")
    assert first.url.startswith("https://www.coindesk.com/") and first.source == "CoinDesk"
    assert first.published_at.tzinfo is not None and first.published_at.year == 2023
    assert first.language == "en" and first.image_url and first.image_url.startswith("https://")
    assert first.categories  # the feed's <category> elements


def test_the_newer_coindesk_and_the_cointelegraph_formats_parse_too():
    newer = rss.parse(recorded("rss/coindesk_rss_2026-09-25_3items_trimmed_by_source.xml"), COINDESK)
    assert newer[0].title == "Circle and Tether step in to freeze hacker wallet after massive Bitget crypto heist"
    telegraph = rss.parse(recorded("rss/cointelegraph_rss_2026-09-30_first5items.xml"),
                          Feed(name="Cointelegraph", url="https://cointelegraph.com/rss"))
    assert len(telegraph) == 5 and all(i.url.startswith("https://cointelegraph.com/") for i in telegraph)
    assert telegraph[0].published_at == datetime(2026, 9, 30, 17, 17, 54, tzinfo=UTC)


@pytest.mark.parametrize("body", [b"", b"<html><body>Not a feed</body></html>",
                                  recorded("rss/cointelegraph_rss_2026-09-30_first5items.xml")[:4000]])
def test_a_body_that_is_not_a_well_formed_feed_is_a_bad_response(body):
    with pytest.raises(UpstreamBadResponseError):
        rss.parse(body, COINDESK)


def test_cryptopanic_free_v1_posts_keep_votes_publisher_and_currency_hints():
    page = json.loads(recorded("cryptopanic/free_v1_posts_public_true_2025-02-26.json"))
    items = [cryptopanic.to_incoming(p) for p in page["results"]]
    assert len(items) == 20
    uni = next(i for i in items if i.title.startswith("SEC Drops Uniswap Case"))
    assert uni.source == "Crypto Economy" and uni.currencies == ["UNI"]
    assert uni.votes == page["results"][2]["votes"]
    assert uni.published_at == datetime(2025, 2, 26, 11, 17, 30, tzinfo=UTC)
    assert "mtm_campaign" in uni.url  # canonicalization happens later, in the pipeline


def test_cryptopanic_2018_posts_without_kind_or_currencies_map_too():
    page = json.loads(recorded("cryptopanic/v1_posts_filter_hot.json"))
    items = [cryptopanic.to_incoming(p) for p in page["results"]]
    assert len(items) == 40 and sum(not i.currencies for i in items) == 9
    assert "<span" in items[0].title  # HTML is stripped in the pipeline


def test_newsapi_articles_map_and_keep_their_publishers():
    page = json.loads(recorded("newsapi/v2_everything_crypto.json"))
    items = [newsapi.to_incoming(a) for a in page["articles"]]
    assert len(items) == 20 and items[0].source == "Cdr.cz" and items[0].language is None
    assert items[0].published_at.tzinfo is not None


def test_fear_and_greed_values_arrive_as_strings_and_become_numbers():
    history = json.loads(recorded("alternative_me/fng_limit0_full_history_2025-08-04.json"))
    days = [alternative_me.to_fear_greed(row) for row in history["data"]]
    assert len(days) == 2738 and days[0].value == 64 and days[0].classification == "Greed"
    assert days[0].time_until_update == 24170 and days[1].time_until_update is None
    assert days[0].timestamp == 1754265600
