"""The Redis client every part of the suite opens: one that fails fast instead of stalling requests."""

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff


def fail_fast_redis(url: str, *, timeout: float = 0.3) -> aioredis.Redis:
    """A Redis client that gives up within `timeout` and never retries: Redis trouble must cost a request
    at most that, after which callers step around Redis (the cache goes uncached, budgets go local)."""
    return aioredis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 0))
