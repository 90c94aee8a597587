"""NewsAPI /v2/everything (keyed). Its free plan is for development only; it ignores `language` in practice,
so every article's language is detected here and /news/latest filters by it (English by default)."""

from datetime import datetime
from typing import Any

from dm_shared.adapter import reading
from dm_shared.errors import SourceUnsupportedError, UpstreamBadResponseError
from dm_shared.guard import Guard
from dm_shared.names import Provider
from dm_shared.upstream import Upstream, UpstreamClient

from news_svc.domain.types import Incoming

KEY_SETTING = "NEWS_NEWSAPI_API_KEY"
REMOVED = "[Removed]"


def to_incoming(article: dict[str, Any]) -> Incoming | None:
    """An item from one of `articles`; None for the placeholders NewsAPI leaves for removed articles."""
    if article.get("title") in (None, REMOVED) or not article.get("url"):
        return None
    published = article.get("publishedAt")
    return Incoming(
        provider=Provider.NEWSAPI, title=article["title"], url=article["url"],
        source=(article.get("source") or {}).get("name") or "NewsAPI",
        published_at=datetime.fromisoformat(published.replace("Z", "+00:00")) if published else None,
        summary=article.get("description"), image_url=article.get("urlToImage"))


class NewsApiAdapter:
    """NewsAPI's everything endpoint."""

    name = Provider.NEWSAPI
    needs_key = True

    def __init__(self, client: UpstreamClient, *, guard: Guard, base_url: str, api_key: str | None, query: str,
                 timeout: float):
        self.keyed = bool(api_key)
        self.upstream = Upstream(guard, base_url, headers={"X-Api-Key": api_key or ""}, timeout=timeout)
        self.breaker = guard.breaker
        self.query = query
        self._client = client

    async def close(self) -> None:
        """Nothing of its own to close: it calls through the process's shared client."""

    async def fetch_items(self) -> list[Incoming]:
        """The newest articles matching the query."""
        if not self.keyed:
            raise SourceUnsupportedError(f"newsapi needs {KEY_SETTING}", details={"upstream": self.name})
        payload = await self._client.get_json(self.upstream, "/v2/everything", {
            "q": self.query, "language": "en", "sortBy": "publishedAt", "pageSize": 50})
        articles = payload.get("articles") if isinstance(payload, dict) else None
        if not isinstance(articles, list) or payload.get("status") != "ok":
            raise UpstreamBadResponseError("newsapi answered without articles", details={"upstream": self.name})
        with reading(self.name, "everything"):
            return [item for item in map(to_incoming, articles) if item is not None]
