"""Articles in MongoDB (`news_articles`, keyed by article id): what requests read and the poller writes.

Every read and write fails fast with STORE_UNAVAILABLE when MongoDB cannot be reached, so a request gets
an envelope error instead of waiting.
"""

import base64
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

from dm_shared.errors import ApiError, BadRequestError

COLLECTION = "news_articles"
# Links to an aggregator's page about a story, not to the story: a publisher's own link replaces them.
AGGREGATOR_URLS = ("https://cryptopanic.com/",)
# What a stored article shows: everything but the fields kept for queries (published_ms goes into cursors).
_PROJECTION = {"_id": 0, "title_words": 0, "source_key": 0, "social": 0, "feed": 0}


class StoreUnavailableError(ApiError):
    """MongoDB, where articles are kept, cannot be reached."""

    code, status, message = "STORE_UNAVAILABLE", 503, "The news store is unavailable"


def encode_cursor(published_ms: int, article_id: str) -> str:
    """An opaque cursor: the position after an article in newest-first order."""
    return base64.urlsafe_b64encode(f"{published_ms}:{article_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """The position a cursor stands for; BAD_REQUEST when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        published, article_id = raw.split(":", 1)
        if not article_id.startswith("news_"):
            raise ValueError(article_id)
        return int(published), article_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequestError("Invalid cursor", details={"cursor": cursor[:64]}) from exc


class Store:
    """The articles collection."""

    def __init__(self, collection: AsyncCollection):
        self.articles = collection

    async def _run(self, operation):
        try:
            return await operation
        except PyMongoError as exc:
            raise StoreUnavailableError(details={"reason": type(exc).__name__}) from exc

    async def ensure_indexes(self) -> None:
        """The index of newest-first reads and time windows. None on `related_symbols`: nx-27017 (the local
        MongoDB wire server) then stops finding documents by one element of that array (0.8.1)."""
        await self._run(self.articles.create_index([("published_ms", DESCENDING), ("id", DESCENDING)]))

    async def get(self, article_id: str) -> dict[str, Any] | None:
        return await self._run(self.articles.find_one({"_id": article_id}))

    async def insert(self, document: dict[str, Any]) -> bool:
        """Store a new article; False when one with its id is stored already."""
        try:
            await self.articles.insert_one({"_id": document["id"], **document})
        except DuplicateKeyError:
            return False
        except PyMongoError as exc:
            raise StoreUnavailableError(details={"reason": type(exc).__name__}) from exc
        return True

    async def existing(self, ids: list[str]) -> set[str]:
        """Which of `ids` are stored."""
        cursor = self.articles.find({"_id": {"$in": ids}}, {"_id": 1})
        return {row["_id"] for row in await self._run(cursor.to_list(None))}

    async def merge(self, article_id: str, provider: str, votes: dict[str, int] | None,
                    attribution: str | None, direct_url: str | None = None) -> None:
        """Record that another upstream carried a story already stored; `direct_url`, the publisher's own link,
        replaces an aggregator's (CryptoPanic's) page as the article's `url`."""
        update: dict[str, Any] = {"$addToSet": {"providers": provider}}
        fields = {k: v for k, v in (("votes", votes), ("attribution", attribution)) if v}
        if direct_url:
            stored = await self._run(self.articles.find_one({"_id": article_id}, {"url": 1}))
            if stored and stored["url"].startswith(AGGREGATOR_URLS):
                fields["url"] = direct_url
        if fields:
            update["$set"] = fields
        await self._run(self.articles.update_one({"_id": article_id}, update))

    async def recent(self, since_ms: int) -> list[dict[str, Any]]:
        """Stories published since `since_ms`: their id, URL and title words (for deduplication)."""
        cursor = self.articles.find({"published_ms": {"$gte": since_ms}},
                                    {"_id": 0, "id": 1, "url": 1, "title_words": 1, "published_ms": 1})
        return await self._run(cursor.to_list(None))

    async def page(self, query: dict[str, Any], *, after: tuple[int, str] | None, limit: int
                   ) -> tuple[list[dict[str, Any]], int]:
        """Up to `limit` articles matching `query`, newest first, after a cursor position; and the total."""
        total = await self._run(self.articles.count_documents(query))
        if after is not None:
            published, article_id = after
            query = {"$and": [query, {"$or": [{"published_ms": {"$lt": published}},
                                              {"published_ms": published, "id": {"$lt": article_id}}]}]}
        cursor = self.articles.find(query, _PROJECTION).sort(
            [("published_ms", DESCENDING), ("id", DESCENDING)]).limit(limit)
        return await self._run(cursor.to_list(limit)), total

    async def window(self, since_ms: int) -> list[dict[str, Any]]:
        """Symbols, scores and social kind of every article published since `since_ms`."""
        cursor = self.articles.find({"published_ms": {"$gte": since_ms}},
                                    {"_id": 0, "related_symbols": 1, "sentiment_score": 1, "social": 1})
        return await self._run(cursor.to_list(None))
