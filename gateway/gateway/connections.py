"""At most N websocket connections per client address, counted across every gateway replica in Redis.

Each open connection is a member of its address's sorted set, scored with when it expires; a replica
renews its own members while they are open (every 30 s, for 90 s), so a crashed replica's connections
stop counting within 90 s. Without Redis, this replica's own count applies.
"""

import asyncio
import logging
import uuid
from collections import Counter

from redis.exceptions import RedisError

from dm_shared.redis_client import fail_fast_redis

log = logging.getLogger("gateway.connections")

_RENEW_SECONDS, _LIFETIME_MS = 30.0, 90_000
# KEYS[1]: the address's set. ARGV: member, limit, lifetime (ms); times are Redis's clock. 1 if taken.
_TAKE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""
_RENEW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', now + tonumber(ARGV[1]), ARGV[i + 1])
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[1]))
end
return #KEYS
"""


class ConnectionCap:
    """Takes and gives back a connection slot of a client address."""

    def __init__(self, redis_url: str, limit: int, *, namespace: str = "dm:ws"):
        self._redis = fail_fast_redis(redis_url, timeout=0.5)
        self._take = self._redis.register_script(_TAKE)
        self._renew = self._redis.register_script(_RENEW)
        self.limit = limit
        self._ns = namespace
        self._replica = uuid.uuid4().hex[:12]
        self._open: dict[str, str] = {}  # member -> address
        self._local = Counter()
        self._task: asyncio.Task | None = None

    async def take(self, address: str) -> str | None:
        """A slot for one more connection from `address` (its token), or None when it holds `limit` already."""
        member = f"{self._replica}:{uuid.uuid4().hex[:12]}"
        try:
            taken = await self._take(keys=[f"{self._ns}:{address}"], args=[member, self.limit, _LIFETIME_MS])
        except (TimeoutError, RedisError, OSError) as exc:
            log.warning("websocket connection counts unavailable (Redis: %s): counting this replica's", exc)
            taken = self._local[address] < self.limit
        if not taken:
            return None
        self._open[member] = address
        self._local[address] += 1
        return member

    async def give_back(self, member: str) -> None:
        address = self._open.pop(member, None)
        if address is None:
            return
        self._local[address] -= 1
        if self._local[address] <= 0:
            del self._local[address]
        try:
            await self._redis.zrem(f"{self._ns}:{address}", member)
        except (TimeoutError, RedisError, OSError):
            pass  # it expires with its score

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._renewing())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._redis.aclose()

    async def _renewing(self) -> None:
        while True:
            await asyncio.sleep(_RENEW_SECONDS)
            open_now = list(self._open.items())
            for start in range(0, len(open_now), 1000):
                chunk = open_now[start:start + 1000]
                try:
                    await self._renew(keys=[f"{self._ns}:{address}" for _, address in chunk],
                                      args=[_LIFETIME_MS, *(member for member, _ in chunk)])
                except (TimeoutError, RedisError, OSError) as exc:
                    log.warning("websocket connection counts not renewed (Redis: %s)", exc)
                    break
