"""Feedback on signals and analyses, in MongoDB `ai_feedback`: one document per feedback, linked to the
prediction's id; the newest one of a prediction labels it for /ai/performance."""

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from ai_svc.service.store import store_errors

COLLECTION = "ai_feedback"


class FeedbackStore:
    """Where feedback is kept."""

    def __init__(self, db: AsyncDatabase):
        self.feedback = db[COLLECTION]

    async def ensure_indexes(self) -> None:
        async with store_errors():
            await self.feedback.create_index([("prediction_id", ASCENDING), ("received_at", ASCENDING)])

    async def insert(self, doc: dict[str, Any]) -> None:
        async with store_errors():
            await self.feedback.insert_one(doc)

    async def latest(self, prediction_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The newest feedback of each of `prediction_ids` that has any."""
        newest: dict[str, dict[str, Any]] = {}
        async with store_errors():
            for start in range(0, len(prediction_ids), 1000):
                chunk = prediction_ids[start:start + 1000]
                for doc in await self.feedback.find({"prediction_id": {"$in": chunk}},
                                                    {"prediction_id": 1, "actual_outcome": 1,
                                                     "received_at": 1}).to_list(None):
                    kept = newest.get(doc["prediction_id"])
                    if kept is None or (doc["received_at"], doc["_id"]) > (kept["received_at"], kept["_id"]):
                        newest[doc["prediction_id"]] = doc
        return newest

    async def count(self) -> int:
        async with store_errors():
            return await self.feedback.count_documents({})
