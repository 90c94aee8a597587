"""The Redis client every part of the suite opens: one that fails fast instead of stalling requests."""

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

# Connections one client may hold at once. redis-py's own pool holds 100 and then raises "Too many
# connections" at once (a burst of 500 websocket connects did that); past this many, a command waits for a
# free connection, up to the client's timeout like any other Redis trouble.
MAX_CONNECTIONS = 512


def fail_fast_redis(url: str, *, timeout: float = 0.3, max_connections: int = MAX_CONNECTIONS) -> aioredis.Redis:
    """A Redis client that gives up within `timeout` and never retries: Redis trouble must cost a request
    at most that, after which callers step around Redis (the cache goes uncached, budgets go local)."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=timeout, socket_connect_timeout=timeout,
        socket_timeout=timeout, retry=Retry(NoBackoff(), 0))
    return aioredis.Redis.from_pool(pool)
