"""CryptoPanic posts (keyed). The plan segment of the path is a setting: the free v1 API (`/free/v1/posts/`)
and the developer v2 API differ in shape (v2 names its tags `instruments` and may give `original_url`); both
are read here. The community `votes` are kept, and every item carries the attribution CryptoPanic asks for."""

from datetime import datetime
from typing import Any

from dm_shared.adapter import reading
from dm_shared.errors import SourceUnsupportedError, UpstreamBadResponseError
from dm_shared.guard import Guard
from dm_shared.names import Provider
from dm_shared.upstream import Upstream, UpstreamClient

from news_svc.domain.types import Incoming

KEY_SETTING = "NEWS_CRYPTOPANIC_API_KEY"
ATTRIBUTION = "News via CryptoPanic (https://cryptopanic.com)"


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def to_incoming(post: dict[str, Any]) -> Incoming:
    """An item from one post of `results`."""
    source = post.get("source") or {}
    tagged = post.get("currencies") or post.get("instruments") or []
    votes = post.get("votes")
    return Incoming(
        provider=Provider.CRYPTOPANIC, title=post["title"], url=post.get("original_url") or post["url"],
        source=source.get("title") or source.get("domain") or post.get("domain") or "CryptoPanic",
        published_at=_time(post.get("published_at")), summary=post.get("description") or post.get("body"),
        image_url=post.get("image"), currencies=[c["code"] for c in tagged if c.get("code")],
        votes={k: int(v) for k, v in votes.items()} if isinstance(votes, dict) else None,
        # A source's region is the language it publishes in (CryptoPanic filters languages by `regions`).
        language=source.get("region") if len(str(source.get("region") or "")) == 2 else None)


class CryptoPanicAdapter:
    """CryptoPanic's posts API."""

    name = Provider.CRYPTOPANIC
    needs_key = True

    def __init__(self, client: UpstreamClient, *, guard: Guard, base_url: str, path: str, api_key: str | None,
                 timeout: float):
        self.keyed = bool(api_key)
        self.upstream = Upstream(guard, base_url, timeout=timeout)
        self.breaker = guard.breaker
        self.path = "/" + path.strip("/") + "/"
        self._key = api_key
        self._client = client

    async def close(self) -> None:
        """Nothing of its own to close: it calls through the process's shared client."""

    async def fetch_items(self) -> list[Incoming]:
        """The newest public posts."""
        if not self.keyed:
            raise SourceUnsupportedError(f"cryptopanic needs {KEY_SETTING}", details={"upstream": self.name})
        payload = await self._client.get_json(self.upstream, self.path,
                                              {"auth_token": self._key, "public": "true"})
        results = payload.get("results") if isinstance(payload, dict) else None
        if not isinstance(results, list):
            raise UpstreamBadResponseError("cryptopanic posts have no results list", details={"upstream": self.name})
        with reading(self.name, "posts"):
            return [to_incoming(post) for post in results]
