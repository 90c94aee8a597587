"""Whale alerts in MongoDB: one document per chain and transaction hash (a unique index, so two replicas or
a repeated scan can never store an alert twice), and each chain's last scanned block."""

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from chain_svc.domain.types import WhaleAlert

ALERTS, CURSORS = "whale_alerts", "chain_cursors"


class AlertStore:
    """The alerts collection and the scan cursors."""

    def __init__(self, db: AsyncDatabase):
        self.alerts = db[ALERTS]
        self.cursors = db[CURSORS]
        self._indexed = False

    async def _indexes(self) -> None:
        if not self._indexed:
            await self.alerts.create_index([("chain", ASCENDING), ("hash", ASCENDING)], unique=True)
            await self.alerts.create_index([("timestamp", DESCENDING)])
            self._indexed = True

    async def add(self, alert: WhaleAlert) -> bool:
        """Store `alert`; False when an alert of that chain and hash is already stored."""
        await self._indexes()
        try:
            await self.alerts.insert_one(alert.model_dump())
        except DuplicateKeyError:
            return False
        return True

    async def recent(self, *, min_usd: float, chain: str | None, limit: int) -> list[WhaleAlert]:
        """The newest alerts worth `min_usd` or more, on `chain` or on every chain."""
        query: dict[str, Any] = {"usd_value": {"$gte": min_usd}}
        if chain is not None:
            query["chain"] = chain
        rows = self.alerts.find(query, {"_id": 0}).sort("timestamp", DESCENDING).limit(limit)
        return [WhaleAlert.model_validate(row) async for row in rows]

    async def cursor(self, chain: str) -> tuple[int, int] | None:
        """The last block of `chain` scanned whole, and how far into the next one the scan got."""
        row = await self.cursors.find_one({"_id": chain})
        return (int(row["block"]), int(row.get("index", 0))) if row else None

    async def scanned(self, chain: str, block: int) -> None:
        """Remember that `block` of `chain` was scanned whole."""
        await self.cursors.update_one({"_id": chain}, {"$set": {"block": block, "index": 0}}, upsert=True)

    async def progress(self, chain: str, last: int, index: int) -> None:
        """Remember that the block after `last` was scanned up to transaction `index`."""
        await self.cursors.update_one({"_id": chain}, {"$set": {"block": last, "index": index}}, upsert=True)
