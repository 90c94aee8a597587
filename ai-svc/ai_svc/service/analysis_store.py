"""Analyses in MongoDB: `ai_analysis_results` (spec 004's collection and its (symbol, timestamp) index), one
document per analysis with spec 004's `analysis` object, what made it, and how it turned out; cleared ones in
`ai_analysis_archive` when AI_STORAGE_CLEAR_MODE=archive. Any store failure is STORE_UNAVAILABLE."""

from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ai_svc.service.store import store_errors

COLLECTION = "ai_analysis_results"
ARCHIVE = "ai_analysis_archive"
# Fields performance reads (top-level only: the MongoDB stand-in flattens dotted projections).
PREDICTION_FIELDS = {"symbol": 1, "timestamp": 1, "type": 1, "confidence": 1, "model": 1, "outcome": 1,
                     "requested_by": 1, "slot": 1, "status": 1}
CLEAR_BATCH = 500


class AnalysisStore:
    """Where analyses are kept, found again, judged and cleared."""

    def __init__(self, db: AsyncDatabase):
        self.analyses = db[COLLECTION]
        self.archive = db[ARCHIVE]

    async def ensure_indexes(self) -> None:
        async with store_errors():
            await self.analyses.create_index([("symbol", ASCENDING), ("timestamp", ASCENDING)])
            await self.analyses.create_index([("input_digest", ASCENDING), ("timestamp", DESCENDING)])
            await self.analyses.create_index([("status", ASCENDING), ("expires_at", ASCENDING)])

    async def insert(self, doc: dict[str, Any]) -> bool:
        """Store a new analysis; False when one with its id is already stored (a runner slot made twice)."""
        try:
            async with store_errors():
                await self.analyses.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def recent(self, digest: str, since: int) -> dict[str, Any] | None:
        """The newest analysis of the same input made at or after `since` (unix ms)."""
        async with store_errors():
            return await self.analyses.find_one({"input_digest": digest, "timestamp": {"$gte": since}},
                                                sort=[("timestamp", DESCENDING)])

    async def get(self, analysis_id: str) -> dict[str, Any] | None:
        """An analysis by id, stored or archived."""
        async with store_errors():
            return (await self.analyses.find_one({"_id": analysis_id})
                    or await self.archive.find_one({"_id": analysis_id}))

    async def due(self, now: int, limit: int = 100) -> list[dict[str, Any]]:
        """Open analyses whose life has ended by `now`."""
        async with store_errors():
            return await self.analyses.find({"status": "open", "expires_at": {"$lte": now}}).sort(
                "expires_at", ASCENDING).to_list(limit)

    async def close(self, analysis_id: str, outcome: dict[str, Any]) -> None:
        async with store_errors():
            await self.analyses.update_one({"_id": analysis_id, "status": "open"},
                                           {"$set": {"status": "closed", "outcome": outcome}})

    async def unpublished(self, limit: int = 100) -> list[dict[str, Any]]:
        """Runner analyses stored but not yet on the bus, oldest first."""
        async with store_errors():
            return await self.analyses.find({"published": False}).sort("timestamp", ASCENDING).to_list(limit)

    async def mark_published(self, analysis_id: str) -> None:
        async with store_errors():
            await self.analyses.update_one({"_id": analysis_id}, {"$set": {"published": True}})

    async def predictions(self, since: int, until: int) -> list[dict[str, Any]]:
        """Every analysis made in [since, until], stored or archived, with the fields performance reads."""
        query = {"timestamp": {"$gte": since, "$lte": until}}
        async with store_errors():
            stored = await self.analyses.find(query, PREDICTION_FIELDS).to_list(None)
            archived = await self.archive.find(query, PREDICTION_FIELDS).to_list(None)
        return stored + archived

    async def stats(self) -> tuple[list[dict[str, Any]], int]:
        """Per symbol: analyses and the newest one's time; and how many are archived."""
        async with store_errors():
            cursor = await self.analyses.aggregate([
                {"$group": {"_id": "$symbol", "count": {"$sum": 1}, "latest": {"$max": "$timestamp"}}}])
            groups = await cursor.to_list(None)
            archived = await self.archive.count_documents({})
        return sorted(groups, key=lambda g: (-g["count"], g["_id"])), archived

    async def clear(self, mode: str) -> int:
        """Empty the collection, moving every analysis to the archive first when `mode` is archive; how many."""
        cleared = 0
        async with store_errors():
            while True:
                docs = await self.analyses.find({}).sort("timestamp", ASCENDING).to_list(CLEAR_BATCH)
                if not docs:
                    return cleared
                if mode == "archive":
                    now = datetime.now(UTC)
                    for doc in docs:
                        doc["archived_at"] = now
                    try:
                        await self.archive.insert_many(docs, ordered=False)
                    except DuplicateKeyError:
                        pass  # archived by a clear that stopped half-way
                result = await self.analyses.delete_many({"_id": {"$in": [d["_id"] for d in docs]}})
                cleared += result.deleted_count
