"""News upstreams: RSS feeds (CoinDesk, Cointelegraph), CryptoPanic, NewsAPI and alternative.me's Fear & Greed
Index, from recorded payloads time-shifted so their newest item is recent (data/README.md, Derived 31-35).

`NewsDesk` holds the shift (fixed when the sandbox starts, so a feed's body, and its ETag, stay the same
until something is published) and the items published on command: `publish` takes the next real recorded
item not served yet, dates it now and puts it at the top of its feed, and, when asked, into CryptoPanic's
posts too, as CryptoPanic would list the same story.
"""

import email.utils
import hashlib
import html
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from sandbox.fixtures import data_dir, load_json
from sandbox.responses import json_response

DAY = 86_400
# Seconds before the sandbox's start at which each source's newest recorded item is placed.
NEWEST_AGE = 600
_PUBDATE = re.compile(r"<(pubDate|lastBuildDate|atom:updated)>([^<]+)</\1>")
_ITEM = re.compile(r"<item>.*?</item>", re.DOTALL)
_TITLE = re.compile(r"<title>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</title>", re.DOTALL)


@dataclass(frozen=True)
class FeedFile:
    """A served feed: its path on the listener, its recording, and the recording its new items come from."""

    name: str
    path: str
    recording: str
    pool: str
    domain: str


FEEDS = {
    "coindesk": FeedFile("coindesk", "/arc/outboundfeeds/rss/", "rss/coindesk_arc_outboundfeeds_rss_2023-03-13.xml",
                         "rss/coindesk_rss_2026-09-25_3items_trimmed_by_source.xml", "coindesk.com"),
    "cointelegraph": FeedFile("cointelegraph", "/rss", "rss/cointelegraph_rss_2026-09-30_first5items.xml",
                              "rss/cointelegraph_republished_by_prospect.xml", "cointelegraph.com"),
}
CRYPTOPANIC = {"/api/free/v1/posts/": "cryptopanic/free_v1_posts_public_true_2025-02-26.json",
               "/api/posts/": "cryptopanic/v1_posts_filter_hot.json"}
NEWSAPI = "newsapi/v2_everything_crypto.json"
FNG = "alternative_me/fng_limit0_full_history_2025-08-04.json"


def _rfc822(seconds: float) -> str:
    return email.utils.format_datetime(datetime.fromtimestamp(int(seconds), UTC))


def _dates(xml: str) -> list[float]:
    return [email.utils.parsedate_to_datetime(m.group(2).strip()).timestamp() for m in _PUBDATE.finditer(xml)
            if m.group(1) == "pubDate"]


def shift_xml(xml: str, shift: float) -> str:
    """Every pubDate, lastBuildDate and atom:updated moved by `shift` seconds; nothing else changed."""
    def moved(match: re.Match) -> str:
        tag, value = match.groups()
        value = value.strip()
        if value[:4].isdigit():  # ISO 8601 (CoinDesk's atom:updated); RFC 822 elsewhere, kept in its form
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() + shift
            text = datetime.fromtimestamp(int(stamp), UTC).isoformat()
        else:
            text = _rfc822(email.utils.parsedate_to_datetime(value).timestamp() + shift)
        return f"<{tag}>{text}</{tag}>"
    return _PUBDATE.sub(moved, xml)


def _iso_shift(value: str, shift: float) -> str:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() + shift
    return datetime.fromtimestamp(int(moment), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _slug(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-")[:80]


@dataclass
class NewsDesk:
    """The news sources' state: the start time everything is shifted to, and what was published since."""

    started: float = field(default_factory=time.time)
    published: dict[str, list[str]] = field(default_factory=dict)  # feed -> item XML, newest first
    posts: list[dict[str, Any]] = field(default_factory=list)  # CryptoPanic posts published, newest first
    _used: dict[str, int] = field(default_factory=dict)

    def _raw(self, name: str) -> str:
        return (data_dir() / name).read_text(encoding="utf-8")

    def feed(self, name: str) -> str:
        """The feed as served now: the recording shifted, with the published items on top."""
        spec = FEEDS[name]
        xml = self._raw(spec.recording)
        xml = shift_xml(xml, self.started - NEWEST_AGE - max(_dates(xml)))
        extra = "".join(self.published.get(name, ()))
        if extra:
            first = xml.find("<item>")
            xml = xml[:first] + extra + xml[first:]
        return xml

    def publish(self, name: str, cryptopanic: bool) -> dict[str, Any]:
        """The next recorded item of the feed's pool, dated now, on top of the feed (and of CryptoPanic's posts)."""
        spec = FEEDS[name]
        pool = _ITEM.findall(self._raw(spec.pool))
        served = self._raw(spec.recording)
        fresh = [item for item in pool if _TITLE.search(item).group(1) not in served]
        index = self._used.get(name, 0)
        if index >= len(fresh):
            raise LookupError(f"every recorded {name} item has been published")
        self._used[name] = index + 1
        now = time.time()
        item = re.sub(r"<pubDate>[^<]+</pubDate>", f"<pubDate>{_rfc822(now)}</pubDate>", fresh[index])
        self.published.setdefault(name, []).insert(0, item)
        title = _TITLE.search(item).group(1).strip()
        link = html.unescape(re.search(r"<link>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</link>", item, re.DOTALL)
                             .group(1).strip())
        stamp = datetime.fromtimestamp(int(now), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        answer = {"feed": name, "title": title, "link": link, "published_at": stamp}
        if cryptopanic:
            post_id = 90_000_000 + len(self.posts) + 1
            slug = _slug(title)
            recorded = [p["source"] for p in load_json(CRYPTOPANIC["/api/free/v1/posts/"])["results"]
                        if p["domain"] == spec.domain]
            source = recorded[0] if recorded else {"title": spec.name, "region": "en", "domain": spec.domain,
                                                   "path": None, "type": "feed"}
            self.posts.insert(0, {
                "kind": "news", "domain": spec.domain, "source": source,
                "title": title, "published_at": stamp, "slug": slug, "id": post_id,
                "url": f"https://cryptopanic.com/news/{post_id}/{slug}?mtm_campaign=API-OFA", "created_at": stamp,
                "votes": {k: 0 for k in ("negative", "positive", "important", "liked", "disliked", "lol", "toxic",
                                         "saved", "comments")}})
            answer["cryptopanic_id"] = post_id
        return answer

    def posts_page(self, path: str) -> dict[str, Any]:
        """A CryptoPanic page: the recording with its times shifted, published posts first (free v1 only)."""
        page = load_json(CRYPTOPANIC[path])
        newest = max(datetime.fromisoformat(p["published_at"].replace("Z", "+00:00")).timestamp()
                     for p in page["results"])
        shift = self.started - NEWEST_AGE - newest
        results = [{**p, "published_at": _iso_shift(p["published_at"], shift),
                    "created_at": _iso_shift(p["created_at"], shift)} for p in page["results"]]
        if path == "/api/free/v1/posts/":
            results = [*self.posts, *results]
        return {**page, "results": results}

    def everything(self) -> dict[str, Any]:
        """NewsAPI's recorded page with its times shifted."""
        page = load_json(NEWSAPI)
        newest = max(datetime.fromisoformat(a["publishedAt"].replace("Z", "+00:00")).timestamp()
                     for a in page["articles"])
        shift = self.started - NEWEST_AGE - newest
        return {**page, "articles": [{**a, "publishedAt": _iso_shift(a["publishedAt"], shift)}
                                     for a in page["articles"]]}

    def fear_greed(self, limit: int) -> dict[str, Any]:
        """alternative.me's history moved by whole days so its newest day is today; `time_until_update` is the
        time to the next UTC midnight."""
        history = load_json(FNG)
        today = int(time.time()) // DAY * DAY
        shift = today - int(history["data"][0]["timestamp"])
        rows = [{k: v for k, v in row.items() if k != "time_until_update"} | {"timestamp": str(int(row["timestamp"])
                                                                                             + shift)}
                for row in history["data"]]
        rows[0]["time_until_update"] = str(today + DAY - int(time.time()))
        return {**history, "data": rows if limit == 0 else rows[:limit]}


def _validators(body: bytes) -> dict[str, str]:
    return {"ETag": '"' + hashlib.sha1(body).hexdigest()[:16] + '"'}


def create_rss_app(desk: NewsDesk) -> FastAPI:
    """The feeds, at the paths of CoinDesk's and Cointelegraph's own feeds, with ETag and Last-Modified."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    def route(name: str):
        async def feed(request: Request) -> Response:
            body = desk.feed(name).encode()
            headers = _validators(body)
            newest = max(_dates(body.decode()))
            headers["Last-Modified"] = _rfc822(newest)
            if request.headers.get("if-none-match") == headers["ETag"]:
                return Response(status_code=304, headers=headers)
            return Response(body, media_type="application/rss+xml; charset=utf-8", headers=headers)
        return feed

    for name, spec in FEEDS.items():
        app.add_api_route(spec.path, route(name), methods=["GET"])
    return app


def create_cryptopanic_app(desk: NewsDesk) -> FastAPI:
    """CryptoPanic's posts API: the free v1 path and the old v1 path, `auth_token` required."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    def route(path: str):
        async def posts(request: Request) -> Response:
            if not request.query_params.get("auth_token"):
                return json_response({"status": "api_error", "info": "auth_token is required"}, status_code=401)
            return json_response(desk.posts_page(path))
        return posts

    for path in CRYPTOPANIC:
        app.add_api_route(path, route(path), methods=["GET"])
    return app


def create_newsapi_app(desk: NewsDesk) -> FastAPI:
    """NewsAPI's /v2/everything; the key in X-Api-Key or apiKey, as NewsAPI takes it."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/v2/everything")
    async def everything(request: Request) -> Response:
        if not (request.headers.get("x-api-key") or request.query_params.get("apiKey")):
            return json_response({"status": "error", "code": "apiKeyMissing",
                                  "message": "Your API key is missing. Append this to the URL with the apiKey param, "
                                             "or use the x-api-key HTTP header."}, status_code=401)
        return json_response(desk.everything())

    return app


def create_alternative_me_app(desk: NewsDesk) -> FastAPI:
    """alternative.me's /fng/ (`limit`, default 1; 0 for the whole history)."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/fng/")
    async def fng(request: Request) -> Response:
        raw = request.query_params.get("limit", "1")
        limit = int(raw) if raw.isdigit() else 1
        return json_response(desk.fear_greed(limit))

    return app
