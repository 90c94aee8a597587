"""The analysis prompt template in MongoDB `ai_prompts`, versioned: every edit is a new document
(`analysis:<version>`) and the highest version is the one in use; a deployment with none starts from the
code's default as version 1."""

from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ai_svc.llm import prompt
from ai_svc.service.store import store_errors

COLLECTION = "ai_prompts"
NAME = "analysis"


def digest(system: str, user: str) -> str:
    return sha256(f"{system}\x00{user}".encode()).hexdigest()


class PromptStore:
    """The analysis prompt's versions."""

    def __init__(self, db: AsyncDatabase):
        self.prompts = db[COLLECTION]

    async def _newest(self) -> dict[str, Any] | None:
        return await self.prompts.find_one({"name": NAME}, sort=[("version", DESCENDING)])

    async def current(self) -> dict[str, Any]:
        """The prompt in use, creating version 1 from the default when there is none."""
        async with store_errors():
            doc = await self._newest()
        if doc is None:
            doc = await self.save(prompt.DEFAULT["system"], prompt.DEFAULT["user"], note="the default of ai-svc",
                                  author="ai-svc")
        return doc

    async def save(self, system: str, user: str, *, note: str | None, author: str) -> dict[str, Any]:
        """Store a new version and return it (a concurrent edit takes the next number)."""
        for _ in range(5):
            async with store_errors():
                newest = await self._newest()
                version = (newest["version"] if newest else 0) + 1
                doc = {"_id": f"{NAME}:{version}", "name": NAME, "version": version, "system": system, "user": user,
                       "digest": digest(system, user), "note": note, "author": author,
                       "created_at": int(datetime.now(UTC).timestamp() * 1000)}
                try:
                    await self.prompts.insert_one(doc)
                except DuplicateKeyError:
                    continue
                return doc
        raise RuntimeError("the prompt kept changing under five attempts to save it")

    async def versions(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest versions, newest first, without their text."""
        async with store_errors():
            return await self.prompts.find({"name": NAME}, {"version": 1, "digest": 1, "note": 1, "author": 1,
                                                             "created_at": 1}).sort(
                "version", DESCENDING).to_list(limit)
