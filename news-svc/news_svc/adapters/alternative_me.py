"""alternative.me's Crypto Fear & Greed Index (no key). Values arrive as strings."""

from typing import Any

from pydantic import Field

from dm_shared.adapter import reading
from dm_shared.errors import UpstreamBadResponseError
from dm_shared.guard import Guard
from dm_shared.names import Provider
from dm_shared.schemas import Model
from dm_shared.upstream import Upstream, UpstreamClient


class FearGreed(Model):
    """One day of the index."""

    value: int = Field(ge=0, le=100)
    classification: str
    timestamp: int = Field(description="The day the value stands for, unix seconds")
    time_until_update: int | None = Field(None, description="Seconds until alternative.me's next value")


def to_fear_greed(row: dict[str, Any]) -> FearGreed:
    """A day from one row of `data`."""
    until = row.get("time_until_update")
    return FearGreed(value=int(row["value"]), classification=row["value_classification"],
                     timestamp=int(row["timestamp"]), time_until_update=int(until) if until else None)


class AlternativeMeAdapter:
    """alternative.me's /fng/ endpoint."""

    name = Provider.ALTERNATIVE_ME
    needs_key = False
    keyed = True

    def __init__(self, client: UpstreamClient, *, guard: Guard, base_url: str, timeout: float):
        self.upstream = Upstream(guard, base_url, timeout=timeout)
        self.breaker = guard.breaker
        self._client = client

    async def close(self) -> None:
        """Nothing of its own to close: it calls through the process's shared client."""

    async def fetch_index(self, limit: int = 1) -> list[FearGreed]:
        """The newest `limit` days, newest first (`limit=0`: the whole history)."""
        payload = await self._client.get_json(self.upstream, "/fng/", {"limit": limit})
        rows = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(rows, list) or not rows:
            raise UpstreamBadResponseError("alternative.me answered without data", details={"upstream": self.name})
        with reading(self.name, "/fng/"):
            return [to_fear_greed(row) for row in rows]
