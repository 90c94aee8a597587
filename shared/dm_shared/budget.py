"""One rate budget per upstream for every replica: a token bucket in Redis, and a pause after a 429/418.

Each upstream's published limit (CoinGecko's calls per minute, an exchange's request weight) is a
bucket holding a minute's allowance (or the burst its limit names) and refilling continuously. A call
takes its cost or is refused at once, so the caller falls back to another source (or a labelled stale
value) instead of queueing into a ban. When an upstream answers 429 or 418, its Retry-After pauses it for every replica.
Without Redis, each replica keeps a bucket of its own and says so in its log.
"""

import logging
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from dm_shared.errors import UpstreamBudgetError, UpstreamRateLimitedError

log = logging.getLogger("dm.budget")

# Redis' own clock, so replicas with skewed clocks share one bucket honestly.
_TAKE = """
local pause = redis.call('PTTL', KEYS[2])
if pause > 0 then return {-1, pause} end
if tonumber(ARGV[1]) < 0 then return {1, 0} end
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local capacity, rate, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local granted = 0
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
  granted = 1
else
  wait = math.ceil((cost - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate) + 1000)
return {granted, wait}
"""


@dataclass(frozen=True)
class Limit:
    """An upstream's published allowance, in its own cost units per minute, and how much of it may be spent at
    once (`burst`, a minute's allowance unless said: an allowance published per month, such as CoinPaprika's
    free plan, is less than one call a minute and needs a bucket that holds more)."""

    per_minute: float
    burst: float | None = None

    @property
    def per_ms(self) -> float:
        return self.per_minute / 60_000

    @property
    def capacity(self) -> float:
        return self.burst if self.burst is not None else self.per_minute


class _LocalBucket:
    def __init__(self, limit: Limit | None):
        self.limit = limit
        self.tokens = limit.capacity if limit else 0.0
        self.at = time.monotonic() * 1000
        self.paused_until = 0.0

    def take(self, cost: float) -> tuple[int, float]:
        now = time.monotonic() * 1000
        if now < self.paused_until:
            return -1, self.paused_until - now
        if self.limit is None:
            return 1, 0
        self.tokens = min(self.limit.capacity, self.tokens + (now - self.at) * self.limit.per_ms)
        self.at = now
        if self.tokens >= cost:
            self.tokens -= cost
            return 1, 0
        return 0, (cost - self.tokens) / self.limit.per_ms


class Budget:
    """The suite's upstream budgets; an upstream without a limit is not metered, but a pause holds for it too."""

    def __init__(self, redis: aioredis.Redis, *, namespace: str = "dm"):
        self._redis = redis
        self._ns = namespace
        self.limits: dict[str, Limit] = {}
        self._local: dict[str, _LocalBucket] = {}
        self._script = redis.register_script(_TAKE)

    def meter(self, upstream: str, limit: Limit) -> None:
        """Meter `upstream` at `limit` from now on."""
        self.limits[upstream] = limit
        self._local[upstream] = _LocalBucket(limit)

    async def take(self, upstream: str, cost: float = 1.0) -> None:
        """Spend `cost` of the upstream's budget, or raise: paused (429) or budget spent (503)."""
        limit = self.limits.get(upstream)
        try:
            granted, wait_ms = await self._script(
                keys=[f"{self._ns}:budget:{upstream}", f"{self._ns}:pause:{upstream}"],
                args=[limit.capacity, limit.per_ms, cost] if limit else [-1, 0, cost])
        except (TimeoutError, RedisError, OSError) as exc:
            log.warning("budget of %s kept locally, Redis unavailable: %s", upstream, exc)
            granted, wait_ms = self._local_bucket(upstream).take(cost)
        if granted == -1:
            raise UpstreamRateLimitedError(f"{upstream} is paused after it asked us to slow down",
                                           retry_after=round(wait_ms / 1000, 3),
                                           details={"upstream": upstream, "paused": True})
        if granted == 0:
            raise UpstreamBudgetError(f"{upstream}'s rate budget is spent for now",
                                      details={"upstream": upstream, "retry_in": round(wait_ms / 1000, 3),
                                               "per_minute": limit.per_minute})

    def _local_bucket(self, upstream: str) -> _LocalBucket:
        return self._local.setdefault(upstream, _LocalBucket(self.limits.get(upstream)))

    async def pause(self, upstream: str, seconds: float) -> None:
        """Stop every replica from calling `upstream` for `seconds` (its Retry-After)."""
        ms = max(1, int(seconds * 1000))
        log.warning("pausing %s for %.1fs after a rate-limit answer", upstream, seconds)
        self._local_bucket(upstream).paused_until = time.monotonic() * 1000 + ms
        try:
            await self._redis.set(f"{self._ns}:pause:{upstream}", "1", px=ms)
        except (TimeoutError, RedisError, OSError) as exc:
            log.warning("pause of %s kept locally, Redis unavailable: %s", upstream, exc)
