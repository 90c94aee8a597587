"""What the poller learns and every replica serves, kept in Redis (each replica also keeps its own last
copy, so a Redis outage costs freshness, not answers): per-source poll status, Fear & Greed, components."""

import logging
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("news.shared")
PREFIX = "news:"


class Shared:
    """JSON documents by name, in Redis and in process."""

    def __init__(self, redis: aioredis.Redis):
        self.redis = redis
        self.local: dict[str, Any] = {}

    async def put(self, name: str, value: Any) -> None:
        self.local[name] = value
        try:
            await self.redis.set(PREFIX + name, orjson.dumps(value))
        except (TimeoutError, RedisError, OSError) as exc:
            log.warning("could not share %s: %s", name, exc)

    async def get(self, name: str) -> Any:
        """The newest value: Redis's (the poller may be another replica), else this process's."""
        try:
            raw = await self.redis.get(PREFIX + name)
        except (TimeoutError, RedisError, OSError):
            raw = None
        return orjson.loads(raw) if raw else self.local.get(name)

    async def get_many(self, names: list[str]) -> dict[str, Any]:
        try:
            raws = await self.redis.mget([PREFIX + n for n in names])
        except (TimeoutError, RedisError, OSError):
            raws = [None] * len(names)
        return {n: orjson.loads(r) if r else self.local.get(n) for n, r in zip(names, raws, strict=True)}
