"""Rate limits counted in Redis, so every gateway replica enforces one limit.

A limit is "at most N requests in any window of W" (a sliding window of 60 buckets: a request counts in the
bucket of its arrival, W/60 wide, so the window is exact to W/60, 1 s for a minute). Each quota is one
Redis hash: the running total, the oldest bucket still counted, and a count per bucket; a check reads
two fields and writes two, whatever the limit, and a refused request is not counted. Time is Redis's
own clock, so replicas with skewed clocks still share one window.

Checks are batched: every check asked for in one turn of the event loop goes to Redis in ONE script call,
so under load a round trip is shared by every request in flight and the per-request cost is a few
microseconds of Lua. (The `limits` library makes one round trip per check and keeps one sorted-set entry
per request for an exact window: neither fits the hot path, where a cache hit costs ~10 µs.)

When Redis cannot answer, checks fail open (allowed, without rate headers) or closed (refused) as
GATEWAY_RATE_FAIL_OPEN says, with a warning and `dm_gateway_ratelimit_unavailable_total`; Redis is not
asked again for a second after a failure.
"""

import asyncio
import logging
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as redis
from redis.exceptions import RedisError

from dm_shared.metrics import LoopCounter

log = logging.getLogger("gateway.limiter")

UNAVAILABLE = LoopCounter("dm_gateway_ratelimit_unavailable",
                          "Rate-limit checks answered without Redis (failed open or closed)", [])
REFUSED = LoopCounter("dm_gateway_ratelimit_refused", "Requests refused by a rate limit", ["policy"])

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*$")
_MAX_BATCH = 256  # checks per script call, so one call never holds Redis for long
_COOLDOWN_SECONDS = 1.0

# KEYS: one hash per quota. ARGV[1]: the number of checks; then per check: its number of quotas, then per
# quota: limit, window (ms). Hash fields: t = total counted in the window, o = oldest counted bucket,
# r = when a refused quota frees a place (ms), <bucket index> = its count.
# Returns: now (ms), then per check: allowed (0/1), binding quota (1-based), limit, remaining, ms (until
# the oldest counted request leaves the window when allowed; until a place frees when refused).
_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local out = {now}
local k, a = 1, 2
for _ = 1, tonumber(ARGV[1]) do
  local n = tonumber(ARGV[a]); a = a + 1
  local quotas, allowed = {}, 1
  for q = 1, n do
    local key, limit, window = KEYS[k], tonumber(ARGV[a]), tonumber(ARGV[a + 1])
    k, a = k + 1, a + 2
    local size = math.max(1, math.floor(window / 60))
    local span = math.floor(window / size)
    local current = math.floor(now / size)
    local first = current - span + 1
    local state = redis.call('HMGET', key, 't', 'o', 'r')
    local total, oldest = tonumber(state[1]) or 0, tonumber(state[2]) or current
    if oldest < first then
      if first - oldest > span then
        redis.call('DEL', key); total = 0
      else
        for i = oldest, first - 1 do
          local c = redis.call('HGET', key, i)
          if c then total = total - tonumber(c); redis.call('HDEL', key, i) end
        end
      end
      oldest = first
    end
    if total <= 0 then
      total, oldest = 0, current
    else
      while oldest < current and not redis.call('HGET', key, oldest) do oldest = oldest + 1 end
    end
    if state[1] and (tonumber(state[1]) ~= total or tonumber(state[2]) ~= oldest) then
      redis.call('HSET', key, 't', total, 'o', oldest)
      redis.call('PEXPIRE', key, window + size)
    end
    local free_at = tonumber(state[3])
    if total >= limit then
      allowed = 0
      if not free_at or free_at <= now then
        local left, i = total, oldest
        while left >= limit and i <= current do
          local c = redis.call('HGET', key, i)
          if c then left = left - tonumber(c) end
          i = i + 1
        end
        free_at = (i - 1 + span) * size
        redis.call('HSET', key, 'r', free_at)
      end
    end
    quotas[q] = {key, limit, window, size, span, current, total, oldest, free_at}
  end
  local bind, best = 1, nil
  for q = 1, n do
    local key, limit, window, size, span, current, total, oldest, free_at = unpack(quotas[q])
    local remaining, ms
    if allowed == 1 then
      redis.call('HINCRBY', key, current, 1)
      redis.call('HSET', key, 't', total + 1, 'o', oldest)
      redis.call('HDEL', key, 'r')
      redis.call('PEXPIRE', key, window + size)
      remaining, ms = limit - total - 1, (oldest + span) * size - now
      if best == nil or remaining < best then bind, best = q, remaining end
    elseif total >= limit then
      remaining, ms = 0, free_at - now
      if best == nil or ms > best then bind, best = q, ms end
    end
    quotas[q][10], quotas[q][11] = remaining, ms
  end
  out[#out + 1] = allowed
  out[#out + 1] = bind
  out[#out + 1] = quotas[bind][2]
  out[#out + 1] = quotas[bind][10]
  out[#out + 1] = quotas[bind][11]
end
return out
"""


@dataclass(frozen=True)
class Rate:
    """N requests per window: "100/minute", "10/second", "1000/hour", "5/30second"."""

    limit: int
    window: float  # seconds

    @classmethod
    def parse(cls, text: str) -> "Rate":
        match = _RATE.match(text)
        if match is None:
            raise ValueError(f"not a rate: {text!r} (e.g. 100/minute)")
        count, multiple, unit = match.groups()
        return cls(int(count), int(multiple or 1) * _UNITS[unit])

    def __str__(self) -> str:
        return f"{self.limit}/{self.window:g}s"


@dataclass(frozen=True)
class Quota:
    """One limit applied to one identity: `policy` names it in headers ("ip", "key", a route's)."""

    policy: str
    identity: str
    rate: Rate


@dataclass(frozen=True)
class Decision:
    """The outcome of a check; `quota` is the one that decided (the tightest, or the one refusing)."""

    allowed: bool
    quota: Quota | None = None
    remaining: int = 0
    seconds: float = 0.0  # until a place frees (refused) or the oldest counted request leaves (allowed)

    def headers(self, quotas: Sequence[Quota]) -> list[tuple[bytes, bytes]]:
        """The IETF RateLimit-Policy / RateLimit fields and the widely read X-RateLimit-* of this answer."""
        if self.quota is None:
            return []
        policies = ", ".join(f'"{q.policy}";q={q.rate.limit};w={q.rate.window:g}' for q in quotas)
        reset = max(0, math.ceil(self.seconds))
        return [(b"ratelimit-policy", policies.encode()),
                (b"ratelimit", f'"{self.quota.policy}";r={self.remaining};t={reset}'.encode()),
                (b"x-ratelimit-limit", b"%d" % self.quota.rate.limit),
                (b"x-ratelimit-remaining", b"%d" % self.remaining), (b"x-ratelimit-reset", b"%d" % reset)]


class Limiter:
    """Checks quotas against Redis, batched per event-loop turn."""

    def __init__(self, redis_url: str, *, fail_open: bool = True, namespace: str = "dm:rl"):
        self._redis = redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._script = self._redis.register_script(_SCRIPT)
        self.fail_open = fail_open
        self._ns = namespace
        self._pending: list[tuple[Sequence[Quota], asyncio.Future]] = []
        self._down_until = 0.0
        self._warned_at = 0.0
        self._tasks: set[asyncio.Task] = set()

    def check(self, quotas: Sequence[Quota]) -> "asyncio.Future[Decision]":
        """A future of the decision on one request that counts against every quota in `quotas`."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if time.monotonic() < self._down_until:
            future.set_result(self._unavailable())
            return future
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((quotas, future))
        return future

    async def close(self) -> None:
        for task in list(self._tasks):
            await task
        await self._redis.aclose()

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        for start in range(0, len(pending), _MAX_BATCH):
            task = asyncio.get_running_loop().create_task(self._run(pending[start:start + _MAX_BATCH]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[Sequence[Quota], asyncio.Future]]) -> None:
        keys: list[str] = []
        args: list[int] = [len(batch)]
        for quotas, _ in batch:
            args.append(len(quotas))
            for quota in quotas:
                keys.append(f"{self._ns}:{quota.policy}:{quota.identity}")
                args += (quota.rate.limit, int(quota.rate.window * 1000))
        try:
            result = await self._script(keys=keys, args=args)
        except (TimeoutError, RedisError, OSError) as exc:
            self._down_until = time.monotonic() + _COOLDOWN_SECONDS
            self._warn(exc)
            for _, future in batch:
                if not future.done():
                    future.set_result(self._unavailable())
            return
        at = 1
        for quotas, future in batch:
            allowed, bind, _, remaining, ms = (int(v) for v in result[at:at + 5])
            at += 5
            quota = quotas[bind - 1]
            if not allowed:
                REFUSED.inc(quota.policy)
            if not future.done():
                future.set_result(Decision(bool(allowed), quota, max(0, remaining), max(0, ms) / 1000))

    def _unavailable(self) -> Decision:
        UNAVAILABLE.inc()
        return Decision(self.fail_open)

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at > 10:
            self._warned_at = now
            log.warning("rate limits unavailable (Redis: %s): failing %s", exc or type(exc).__name__,
                        "open" if self.fail_open else "closed")
