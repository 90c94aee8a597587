"""RSS and Atom feeds through feedparser, one adapter per configured feed; the bytes are fetched through the
guarded upstream client with ETag / Last-Modified, so an unchanged feed costs a 304."""

import calendar
import xml.sax
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser

from dm_shared.adapter import reading
from dm_shared.errors import UpstreamBadResponseError
from dm_shared.guard import Guard
from dm_shared.names import Provider
from dm_shared.upstream import Upstream, UpstreamClient

from news_svc.domain.types import Incoming
from news_svc.settings import Feed

ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


def _time(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC) if parsed else None


def _image(entry: Any) -> str | None:
    for media in (*entry.get("media_content", ()), *entry.get("media_thumbnail", ())):
        if media.get("url") and (media.get("medium", "image") == "image" or
                                 str(media.get("type", "image/")).startswith("image/")):
            return media["url"]
    for link in entry.get("links", ()):
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/"):
            return link.get("href")
    return None


def to_incoming(parsed: Any, feed: Feed) -> list[Incoming]:
    """Items of a parsed feed; the feed's stated language (`en-US` -> `en`) applies to each."""
    language = parsed.feed.get("language")
    language = language.split("-")[0].lower() if language else None
    items = []
    for entry in parsed.entries:
        title, link = entry.get("title"), entry.get("link")
        if not title or not link:
            continue
        items.append(Incoming(
            provider=Provider.RSS, feed=feed.name, title=title, url=link, source=feed.name,
            published_at=_time(entry), summary=entry.get("summary"), image_url=_image(entry),
            categories=[t.get("term") for t in entry.get("tags", ()) if t.get("term")], language=language,
            social=feed.social))
    return items


def parse(content: bytes, feed: Feed) -> list[Incoming]:
    """A feed's bytes as items; a body that is not a well-formed feed is UPSTREAM_BAD_RESPONSE."""
    parsed = feedparser.parse(content)
    name = f"{Provider.RSS}.{feed.name.lower()}"
    broken = parsed.get("bozo") and isinstance(parsed.get("bozo_exception"), xml.sax.SAXException)
    if broken or not parsed.get("version"):
        raise UpstreamBadResponseError(f"{name} is not a well-formed RSS or Atom feed", details={"upstream": name})
    with reading(name, "feed"):
        return to_incoming(parsed, feed)


class RssAdapter:
    """One configured feed."""

    needs_key = False
    keyed = True

    def __init__(self, client: UpstreamClient, *, guard: Guard, feed: Feed, base_url: str | None, timeout: float):
        parts = urlsplit(feed.url)
        self.feed = feed
        self.name = guard.name
        self.path = parts.path + (f"?{parts.query}" if parts.query else "")
        base = base_url or f"{parts.scheme}://{parts.netloc}"
        self.upstream = Upstream(guard, base, headers={"Accept": ACCEPT}, timeout=timeout)
        self.breaker = guard.breaker
        self._client = client
        self._etag: str | None = None
        self._last_modified: str | None = None

    async def close(self) -> None:
        """Nothing of its own to close: it calls through the process's shared client."""

    async def fetch_items(self) -> list[Incoming] | None:
        """The feed's items, or None when it has not changed since the last fetch (a 304)."""
        fetched = await self._client.get_bytes(self.upstream, self.path, etag=self._etag,
                                               last_modified=self._last_modified)
        if fetched.not_modified:
            return None
        items = parse(fetched.content, self.feed)
        self._etag, self._last_modified = fetched.etag, fetched.last_modified
        return items
