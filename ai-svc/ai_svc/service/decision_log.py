"""Every LLM decision, in MongoDB `ai_llm_decisions` (seed 003's decision log): when, for which pair and
analysis, with which model and prompt version, a digest of the exact input, each key tried, the answer as
given, whether it parsed and was used, latency and tokens."""

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from ai_svc.service.store import store_errors

COLLECTION = "ai_llm_decisions"


class DecisionLog:
    """Where LLM decisions are kept and read back."""

    def __init__(self, db: AsyncDatabase):
        self.decisions = db[COLLECTION]

    async def ensure_indexes(self) -> None:
        async with store_errors():
            await self.decisions.create_index([("symbol", ASCENDING), ("timestamp", DESCENDING)])

    async def insert(self, doc: dict[str, Any]) -> None:
        async with store_errors():
            await self.decisions.insert_one(doc)

    async def find(self, *, symbol: str | None, decision_id: str | None, limit: int) -> list[dict[str, Any]]:
        """Newest first."""
        query: dict[str, Any] = {}
        if symbol:
            query["symbol"] = symbol
        if decision_id:
            query["_id"] = decision_id
        async with store_errors():
            return await self.decisions.find(query).sort("timestamp", DESCENDING).to_list(limit)

    async def count(self) -> int:
        async with store_errors():
            return await self.decisions.count_documents({})
