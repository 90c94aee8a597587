"""Two-tier response cache: an in-process tier for hot keys, Redis shared by every replica.

- TTLs per data kind follow spec 002 (`TTL`).
- Concurrent misses for one key make one fetch: in-process by a shared future, across replicas by a
  short Redis lock whose losers wait for the winner's value.
- Entries outlive their TTL by `stale_seconds` in Redis so a recent value can be served, labelled, when every
  source fails. The in-process tier keeps an entry only `l1_stale_seconds` past its TTL (it serves hits; a
  stale answer comes from Redis), so its memory follows the keys asked for lately, not its bound.
- Redis trouble never fails a request: the cache steps aside for a cool-down and requests go uncached.
"""

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from dm_shared.clock import now_ms
from dm_shared.metrics import CACHE_EVENTS, CACHE_TIERS
from dm_shared.redis_client import fail_fast_redis

log = logging.getLogger("dm.cache")

# Seconds a value counts as fresh, per data kind (spec 002, Caching).
TTL: dict[str, float] = {
    "price": 5, "ohlcv": 60, "market": 60, "news": 300, "sentiment": 600, "ai_signals": 120, "stats": 300,
    # Not in spec 002. On-chain answers change at most once a block (Ethereum ~12 s, Bitcoin ~10 min); 30 s
    # keeps an address's history within a few blocks while a page of requests stays inside the free
    # explorers' allowances (Etherscan 3 calls/s), and new whale alerts also reach clients live on /ws.
    "chain": 30,
}

_SWEEP_EVERY_MS = 5_000

_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


@dataclass
class Entry:
    """A cached body with the time it was fetched and how long it stays fresh."""

    body: bytes
    fetched_at: int
    ttl: float
    memo: dict[str, Any] = field(default_factory=dict, compare=False)  # per-process derived data

    def age_ms(self, now: int | None = None) -> int:
        return max(0, (now or now_ms()) - self.fetched_at)

    def fresh(self, now: int | None = None) -> bool:
        return self.age_ms(now) < self.ttl * 1000

    def to_bytes(self) -> bytes:
        return b"%d:%s:" % (self.fetched_at, repr(self.ttl).encode()) + self.body

    @classmethod
    def from_bytes(cls, raw: bytes) -> "Entry":
        fetched_at, ttl, body = raw.split(b":", 2)
        return cls(body=body, fetched_at=int(fetched_at), ttl=float(ttl))


@dataclass
class Lookup:
    """What the cache answered: the entry, and whether it was a hit and whether stale."""

    entry: Entry
    hit: bool
    stale: bool = False
    error: Exception | None = None


class _Flight:
    """One fetch under way, and how many callers wait for it."""

    __slots__ = ("task", "waiters")

    def __init__(self, task: asyncio.Task):
        self.task, self.waiters = task, 0


class Cache:
    """The suite's cache. One instance per process, opened in the lifespan."""

    def __init__(self, redis_url: str, *, namespace: str = "dm", stale_seconds: float = 900,
                 l1_size: int = 4096, l1_bytes: int = 64 * 1024 * 1024, l1_stale_seconds: float = 30,
                 lock_seconds: float = 10.0, redis_cooldown: float = 1.0, redis_timeout: float = 0.3):
        self._redis = fail_fast_redis(redis_url, timeout=redis_timeout)
        self._ns = namespace
        self.stale_seconds = stale_seconds
        self._l1: OrderedDict[str, Entry] = OrderedDict()
        # The in-process tier holds at most l1_size entries whose bodies total at most l1_bytes (many large
        # variants would otherwise keep a process growing until the entry count is reached), oldest out first.
        self._l1_size, self._l1_max_bytes, self._l1_bytes = l1_size, l1_bytes, 0
        # Entries past their TTL by l1_stale_seconds leave it at the next sweep: a pass over the tier when an
        # entry is stored, every 1 to 5 s at most (TTLs differ by kind: insertion order is not expiry order).
        self._l1_stale_ms = int(min(l1_stale_seconds, stale_seconds) * 1000)
        self._l1_sweep_every_ms = max(1_000, min(_SWEEP_EVERY_MS, self._l1_stale_ms))
        self._l1_swept_at = 0
        self._inflight: dict[str, _Flight] = {}
        self._lock_seconds = lock_seconds
        self._cooldown = redis_cooldown
        self._redis_down_until = 0.0
        CACHE_TIERS.caches.add(self)

    @property
    def l1_entries(self) -> int:
        return len(self._l1)

    @property
    def l1_bytes(self) -> int:
        return self._l1_bytes

    async def close(self) -> None:
        await self._redis.aclose()

    @property
    def redis(self) -> aioredis.Redis:
        return self._redis

    # ---- Redis access that never raises -------------------------------------------------------

    def _redis_usable(self) -> bool:
        return time.monotonic() >= self._redis_down_until

    async def _safe(self, op: Coroutine[Any, Any, Any]) -> Any:
        if not self._redis_usable():
            op.close()  # the coroutine is dropped unawaited on purpose
            return None
        try:
            return await op
        except (TimeoutError, RedisError, OSError) as exc:
            if self._redis_usable():
                log.warning("redis unavailable, serving uncached for %.1fs: %s", self._cooldown, exc)
            self._redis_down_until = time.monotonic() + self._cooldown
            CACHE_EVENTS.inc("redis_error")
            return None

    # ---- entries ------------------------------------------------------------------------------

    def _key(self, key: str) -> str:
        return f"{self._ns}:c:{key}"

    def _remember(self, key: str, entry: Entry) -> None:
        self._forget(key)
        self._l1[key] = entry
        self._l1_bytes += len(entry.body)
        while len(self._l1) > self._l1_size or self._l1_bytes > self._l1_max_bytes:
            _, dropped = self._l1.popitem(last=False)
            self._l1_bytes -= len(dropped.body)
        now = now_ms()
        if now - self._l1_swept_at >= self._l1_sweep_every_ms:
            self._l1_swept_at = now
            for old in [k for k, e in self._l1.items() if e.age_ms(now) > e.ttl * 1000 + self._l1_stale_ms]:
                self._forget(old)

    def _forget(self, key: str) -> None:
        dropped = self._l1.pop(key, None)
        if dropped is not None:
            self._l1_bytes -= len(dropped.body)

    def peek(self, key: str, now: int) -> Entry | None:
        """An entry fresh at `now` from the in-process tier, without touching Redis (the hot path)."""
        local = self._l1.get(key)
        if local is not None and local.fresh(now):
            CACHE_EVENTS.inc("hit")
            return local
        return None

    async def get(self, key: str) -> Entry | None:
        """The newest entry for `key` (fresh or within the stale window), or None."""
        now = now_ms()
        local = self._l1.get(key)
        if local is not None and local.fresh(now):
            return local
        raw = await self._safe(self._redis.get(self._key(key)))
        shared = Entry.from_bytes(raw) if raw else None
        best = max((e for e in (local, shared) if e is not None), key=lambda e: e.fetched_at, default=None)
        if best is None or best.age_ms(now) > (best.ttl + self.stale_seconds) * 1000:
            self._forget(key)
            return None
        if best is shared and (local is None or shared.fetched_at != local.fetched_at):
            self._remember(key, best)
        return best

    async def put(self, key: str, entry: Entry) -> None:
        """Store `entry` in both tiers; Redis keeps it for its TTL plus the stale window."""
        self._remember(key, entry)
        keep_ms = int((entry.ttl + self.stale_seconds) * 1000)
        await self._safe(self._redis.set(self._key(key), entry.to_bytes(), px=keep_ms))

    # ---- single flight ------------------------------------------------------------------------

    async def get_or_fetch(self, key: str, ttl: float, fetch: Callable[[], Awaitable[bytes]],
                           serve_stale: Callable[[Exception], bool] = lambda exc: False) -> Lookup:
        """A fresh entry from cache, else one fetch shared by all concurrent callers of every replica.

        When the fetch fails with an error `serve_stale` accepts and a stale entry exists, that entry is
        returned marked stale; otherwise the error propagates.
        """
        cached = await self.get(key)
        if cached is not None and cached.fresh():
            CACHE_EVENTS.inc("hit")
            return Lookup(cached, hit=True)
        try:
            entry, fetched = await self._fetch_once(key, ttl, fetch)
        except Exception as exc:
            if cached is not None and serve_stale(exc):
                CACHE_EVENTS.inc("stale")
                return Lookup(cached, hit=True, stale=True, error=exc)
            raise
        CACHE_EVENTS.inc("miss" if fetched else "hit")
        return Lookup(entry, hit=not fetched)

    async def _fetch_once(self, key: str, ttl: float, fetch: Callable[[], Awaitable[bytes]]) -> tuple[Entry, bool]:
        """The one fetch of `key` under way in this process, joined (or started). It runs as its own task for
        as long as any caller still waits for it: a caller that gives up (its deadline passed) leaves it
        running for the others, and the last one to give up cancels it."""
        flight = self._inflight.get(key)
        leader = flight is None
        if leader:
            flight = self._inflight[key] = _Flight(
                asyncio.get_running_loop().create_task(self._fetch_across_replicas(key, ttl, fetch)))
            flight.task.add_done_callback(lambda _: self._land(key, flight))
        flight.waiters += 1
        try:
            entry, fetched = await asyncio.shield(flight.task)
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.task.done():
                self._land(key, flight)  # nobody wants it any more: a later caller starts afresh
                flight.task.cancel()
        return entry, fetched and leader

    def _land(self, key: str, flight: _Flight) -> None:
        if self._inflight.get(key) is flight:
            del self._inflight[key]
        if flight.task.done() and not flight.task.cancelled():
            flight.task.exception()  # retrieved: a failure nobody waited for logs no warning

    async def _fetch_across_replicas(self, key: str, ttl: float,
                                     fetch: Callable[[], Awaitable[bytes]]) -> tuple[Entry, bool]:
        lock_key, token = f"{self._ns}:lock:{key}", uuid.uuid4().hex
        started = now_ms()
        locked = await self._safe(self._redis.set(lock_key, token, nx=True, px=int(self._lock_seconds * 1000)))
        if locked is False:
            # Another replica is fetching: wait for its value rather than calling the upstream again.
            deadline = time.monotonic() + self._lock_seconds
            while time.monotonic() < deadline and self._redis_usable():
                await asyncio.sleep(0.05)
                raw = await self._safe(self._redis.get(self._key(key)))
                if raw:
                    entry = Entry.from_bytes(raw)
                    if entry.fetched_at >= started - 50:
                        self._remember(key, entry)
                        return entry, False
                if not await self._safe(self._redis.exists(lock_key)):
                    break
        try:
            body = await fetch()
            entry = Entry(body=body, fetched_at=now_ms(), ttl=ttl)
            await self.put(key, entry)
            return entry, True
        finally:
            if locked:
                await self._safe(self._redis.eval(_RELEASE, 1, lock_key, token))
