"""news-svc as ai-svc's upstream: per-symbol sentiment (spec 002 section 2.3), under the shared guard."""

from typing import Any
from urllib.parse import quote

from dm_shared.adapter import reading
from dm_shared.breaker import CircuitBreaker
from dm_shared.errors import SourceUnsupportedError, UpstreamBadResponseError
from dm_shared.guard import Guard
from dm_shared.upstream import Upstream, UpstreamClient

NAME = "news-svc"
DISABLED = "none"
FIELDS = ("sentiment_score", "sentiment", "social_volume", "news_sentiment")


class NewsAdapter:
    """Sentiment ai-svc reads, from news-svc."""

    name = NAME
    needs_key = False
    keyed = True

    def __init__(self, client: UpstreamClient, *, base_url: str, timeout: float, breaker: CircuitBreaker):
        self.breaker = breaker
        self.client = client
        self.configured = base_url.strip().lower() != DISABLED
        self.upstream = Upstream(Guard(NAME, breaker=breaker), base_url, timeout=timeout)

    async def close(self) -> None:
        """The client is the service's; nothing of its own to close."""

    async def fetch_sentiment(self, base: str) -> dict[str, Any]:
        """The asset's sentiment: sentiment_score, sentiment (positive|negative|neutral), social_volume,
        news_sentiment as news-svc gives them, and its source."""
        if not self.configured:
            raise SourceUnsupportedError("news-svc is not part of this deployment (AI_NEWS_URL=none)",
                                         details={"upstream": NAME})
        body = await self.client.get_json(self.upstream, f"/v1/sentiment/symbol/{quote(base, safe='')}")
        with reading(NAME, "sentiment"):
            if not isinstance(body, dict) or "sentiment" not in body:
                raise UpstreamBadResponseError("news-svc sentiment has no `sentiment`", details={"upstream": NAME})
            return {**{key: body.get(key) for key in FIELDS}, "source": body.get("source", NAME)}
