"""At least AI_LLM_MIN_INTERVAL_SECONDS between two LLM calls of the whole deployment (spec 004: "minimum 20
seconds between requests"): a Redis key every replica sets only when it is absent, for the interval. Without
Redis each replica keeps the interval for itself."""

import asyncio
import logging
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("ai.llm")
KEY = "dm:llm:pace"


class Pacer:
    """Grants the next LLM call its turn."""

    def __init__(self, redis: aioredis.Redis, interval: float, *, key: str = KEY):
        self.redis, self.interval, self.key = redis, interval, key
        self._local_next = 0.0

    async def _try(self) -> float:
        """0 when this call has the turn, else the seconds until the next turn."""
        ms = int(self.interval * 1000)
        try:
            if await self.redis.set(self.key, b"1", nx=True, px=ms):
                return 0.0
            return max(0.001, (await self.redis.pttl(self.key)) / 1000)
        except (TimeoutError, RedisError, OSError) as exc:
            log.warning("LLM pacing kept locally, Redis unavailable: %s", exc)
        now = time.monotonic()
        if now >= self._local_next:
            self._local_next = now + self.interval
            return 0.0
        return self._local_next - now

    async def turn(self, *, wait: float) -> float:
        """Take the turn, waiting up to `wait` seconds for it: 0 when taken, else the seconds still to wait."""
        if self.interval <= 0:
            return 0.0
        deadline = time.monotonic() + wait
        while True:
            left = await self._try()
            if left == 0.0 or time.monotonic() + left > deadline:
                return left
            await asyncio.sleep(left)
