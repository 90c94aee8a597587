"""Signals in MongoDB (collection `ai_signals`): one document per signal, its id the _id, so a signal made
twice (two replicas around a lease hand-over) is stored once. Any store failure is STORE_UNAVAILABLE."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from ai_svc.domain import calibration
from ai_svc.errors import StoreUnavailableError

COLLECTION = "ai_signals"
# Outcomes counted for the confidence bands: the most recent ones.
CALIBRATION_WINDOW = 10_000


@asynccontextmanager
async def store_errors() -> AsyncIterator[None]:
    """Any MongoDB failure inside the block is STORE_UNAVAILABLE (a duplicate key passes as it is)."""
    try:
        yield
    except DuplicateKeyError:
        raise
    except PyMongoError as exc:
        raise StoreUnavailableError(details={"reason": f"{type(exc).__name__}: {str(exc)[:160]}"}) from exc


class SignalStore:
    """Where signals are kept, looked up and closed."""

    def __init__(self, db: AsyncDatabase):
        self.signals = db[COLLECTION]

    async def ensure_indexes(self) -> None:
        async with store_errors():
            await self.signals.create_index([("symbol", ASCENDING), ("timestamp", DESCENDING)])
            await self.signals.create_index([("status", ASCENDING), ("expires_at", ASCENDING)])

    async def insert(self, doc: dict[str, Any]) -> bool:
        """Store a new signal; False when one with its id is already stored."""
        try:
            async with store_errors():
                await self.signals.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def mark_published(self, signal_id: str) -> None:
        async with store_errors():
            await self.signals.update_one({"_id": signal_id}, {"$set": {"published": True}})

    async def unpublished(self, limit: int = 100) -> list[dict[str, Any]]:
        """Signals stored but not yet on the bus (NATS was away), oldest first."""
        async with store_errors():
            return await self.signals.find({"published": False}).sort("timestamp", ASCENDING).to_list(limit)

    async def due(self, now: int, limit: int = 100) -> list[dict[str, Any]]:
        """Open signals that have expired by `now`."""
        async with store_errors():
            return await self.signals.find({"status": "open", "expires_at": {"$lte": now}}).sort(
                "expires_at", ASCENDING).to_list(limit)

    async def close(self, signal_id: str, outcome: dict[str, Any]) -> None:
        async with store_errors():
            await self.signals.update_one({"_id": signal_id, "status": "open"},
                                          {"$set": {"status": "closed", "outcome": outcome}})

    async def find(self, *, symbol: str | None, timeframe: str | None, min_confidence: float | None,
                   limit: int) -> list[dict[str, Any]]:
        """Newest signals first, filtered."""
        query: dict[str, Any] = {}
        if symbol:
            query["symbol"] = symbol
        if timeframe:
            query["timeframe"] = timeframe
        if min_confidence is not None:
            query["confidence"] = {"$gte": min_confidence}
        async with store_errors():
            return await self.signals.find(query).sort("timestamp", DESCENDING).to_list(limit)

    async def get(self, signal_id: str) -> dict[str, Any] | None:
        async with store_errors():
            return await self.signals.find_one({"_id": signal_id})

    async def predictions(self, since: int, until: int) -> list[dict[str, Any]]:
        """Every signal made in [since, until] with the fields performance reads."""
        async with store_errors():
            return await self.signals.find({"timestamp": {"$gte": since, "$lte": until}},
                                           {"symbol": 1, "type": 1, "confidence": 1, "model": 1, "timestamp": 1,
                                            "outcome": 1}).to_list(None)

    async def band_counts(self) -> dict[str, dict[str, int]]:
        """Outcome counts per confidence band of the recorded (closed, judged) signals."""
        async with store_errors():
            docs = await self.signals.find({"status": "closed"}, {"type": 1, "score": 1, "outcome": 1}).sort(
                "timestamp", DESCENDING).to_list(CALIBRATION_WINDOW)
        counts: dict[str, dict[str, int]] = {}
        for doc in docs:
            hit = (doc.get("outcome") or {}).get("hit")
            if hit is None:
                continue
            band = counts.setdefault(calibration.bucket(doc["type"], doc["score"]), {"n": 0, "hits": 0})
            band["n"] += 1
            band["hits"] += int(hit)
        return counts
