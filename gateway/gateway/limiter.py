"""Rate limits counted in Redis, so every gateway replica enforces one limit.

A limit is "at most N requests in any window of W" (a sliding window of 60 buckets: a request counts in the
bucket of its arrival, W/60 wide, so the window is exact to W/60, 1 s for a minute). Each quota is one
Redis hash: the running total, the oldest bucket still counted, and a count per bucket. Time is Redis's own
clock, so replicas with skewed clocks still share one window.

Replicas count ahead in leases. A replica asks Redis for a few places of a caller's quota at once (at most
an eighth of what is left, so they are few near the limit) and Redis counts them at once; the replica then
answers that caller's next requests from the lease with no round trip (a cache hit answered in the HTTP
parser stays in the parser), and gives back what it did not use after 0.5 s without a request. A caller
that uses its leases up quickly gets bigger ones (up to 256 places), and the next one is asked for when half
of the current one is used: its requests never wait for Redis while they keep coming. What is left of the
current lease is then carried into the new one (it stays counted), so nothing is counted twice or lost.
Redis never counts more than the limit, whatever the replicas do. Near the limit, leases shrink to one place: every
request then waits for its own answer from Redis. A request refused while another replica still holds a
lease is asked again every 50 ms until that lease is given back (at most 1 s), so the request that passes
the limit is the one refused, not an earlier one. Requests of one event-loop turn go to Redis in one script
call. (The `limits` library makes one round trip per check and keeps one sorted-set entry per request:
neither fits a hot path where a cache hit costs ~10 µs.)

When Redis cannot answer, checks fail open (allowed, without rate headers) or closed (refused) as
GATEWAY_RATE_FAIL_OPEN says, with a warning and `dm_gateway_ratelimit_unavailable_total`; Redis is not
asked again for a second after a failure.
"""

import asyncio
import logging
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from redis.exceptions import RedisError

from dm_shared.metrics import LoopCounter
from dm_shared.redis_client import fail_fast_redis

log = logging.getLogger("gateway.limiter")

UNAVAILABLE = LoopCounter("dm_gateway_ratelimit_unavailable",
                          "Rate-limit checks answered without Redis (failed open or closed)", [])
REFUSED = LoopCounter("dm_gateway_ratelimit_refused", "Requests refused by a rate limit", ["policy"])

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*$")
_MAX_BATCH = 256  # operations per script call, so one call never holds Redis for long
_COOLDOWN_SECONDS = 1.0
_LEASE_IDLE_SECONDS = 0.5  # a lease not used for this long is given back
_SETTLE_EVERY = 0.2
_FIRST_WANT, _MAX_WANT = 8, 256
_REFILL_FROM = 16  # a lease at least this big is renewed when half used, before it runs out
_FAST_USE_SECONDS = 0.25  # a lease half used within this is followed by a bigger one
_RETRY_EVERY, _RETRIES = 0.05, 20  # a refusal while another replica holds a lease is asked again

# KEYS: one hash per quota. ARGV: the number of operations; per operation: the lease's owner (this replica's
# id and the caller's slot: one caller's requests with and without a route limit are two owners of its own
# quota), its number of quotas, the requests waiting, the places wanted beyond them, the places of the
# owner's last lease it used (-1: no lease), whether the unused rest of that lease is kept (1: carried into
# the new lease, still counted; 0: given back); per quota: limit, window (ms). Hash fields: t = total
# counted in the window, o = oldest counted bucket, <bucket> = its count, l:<owner> =
# "<bucket>:<places>:<expires ms>", a lease.
# Returns one string: now, then per operation: places granted, the deciding quota (1-based: the one with the
# fewest places left), places left after the grant, ms until its oldest counted request leaves the window,
# ms until a place frees (when some waiting were refused), places other replicas hold in leases.
_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local out = {now}
local k, a = 1, 2
for _ = 1, tonumber(ARGV[1]) do
  local own = 'l:' .. ARGV[a]
  local n, waiting, want, used = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]),
    tonumber(ARGV[a + 4])
  local keep = ARGV[a + 5] == '1'
  a = a + 6
  local quotas, bind = {}, 1
  for q = 1, n do
    local key, limit, window = KEYS[k], tonumber(ARGV[a]), tonumber(ARGV[a + 1])
    k, a = k + 1, a + 2
    local size = math.max(1, math.floor(window / 60))
    local span = math.floor(window / size)
    local current = math.floor(now / size)
    local first = current - span + 1
    local state = redis.call('HMGET', key, 't', 'o', own)
    local total, oldest = tonumber(state[1]) or 0, tonumber(state[2]) or current
    if oldest < first then
      if first - oldest > span then
        redis.call('DEL', key); total = 0; state[3] = false
      else
        for i = oldest, first - 1 do
          local c = redis.call('HGET', key, i)
          if c then total = total - tonumber(c); redis.call('HDEL', key, i) end
        end
      end
      oldest = first
    end
    local carry = 0
    if used >= 0 and state[3] then
      local b, c = string.match(state[3], '^(%d+):(%d+):')
      b, c = tonumber(b), tonumber(c)
      local unused = c - math.min(used, c)
      if keep then carry = unused end  -- moved to the current bucket below, with the new places
      if unused > 0 and b >= oldest and b <= current then
        if redis.call('HINCRBY', key, b, -unused) <= 0 then redis.call('HDEL', key, b) end
        total = total - unused
      end
      redis.call('HDEL', key, own)
    end
    if total <= 0 then
      total, oldest = 0, current
    else
      while oldest < current and not redis.call('HGET', key, oldest) do oldest = oldest + 1 end
    end
    local places = math.max(0, limit - total - carry)
    quotas[q] = {key, limit, window, size, span, current, total, oldest, places, carry}
    if places < quotas[bind][9] then bind = q end
  end
  local left = quotas[bind][9]
  local grant = math.min(left, math.max(waiting, math.min(want, math.floor(left / 8))))
  local free, others = 0, 0
  for q = 1, n do
    local key, limit, window, size, span, current, total, oldest, _, carry = unpack(quotas[q])
    if grant + carry > 0 then
      redis.call('HINCRBY', key, current, grant + carry)
      total = total + grant + carry
      redis.call('HSET', key, own, current .. ':' .. (grant + carry) .. ':' .. (now + 5000))
    end
    redis.call('HSET', key, 't', total, 'o', oldest)
    redis.call('PEXPIRE', key, window + size)
    if grant < waiting then
      local fields = redis.call('HGETALL', key)
      for f = 1, #fields, 2 do
        local name = fields[f]
        if string.sub(name, 1, 2) == 'l:' and name ~= own then
          local c, expires = string.match(fields[f + 1], '^%d+:(%d+):(%d+)$')
          if tonumber(expires) > now then others = others + tonumber(c) else redis.call('HDEL', key, name) end
        end
      end
      local rest, i = total, oldest
      while rest >= limit and i <= current do
        local c = redis.call('HGET', key, i)
        if c then rest = rest - tonumber(c) end
        i = i + 1
      end
      free = math.max(free, (i - 1 + span) * size - now)
    end
  end
  local b = quotas[bind]
  out[#out + 1] = grant .. ',' .. bind .. ',' .. (left - grant) .. ',' .. ((b[8] + b[5]) * b[4] - now) ..
    ',' .. free .. ',' .. others
end
return table.concat(out, ',')
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.limit, self.window)))

    def __hash__(self) -> int:  # computed once: rates and quotas are dictionary keys on the hot path
        return self._hash


@dataclass(frozen=True)
class Quota:
    """One limit applied to one identity: `policy` names it in headers ("ip", "key", a route's)."""

    policy: str
    identity: str
    rate: Rate

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.policy, self.identity, self.rate)))

    def __hash__(self) -> int:
        return self._hash


class Decision:
    """The outcome of a check; `quota` is the one that decided (the tightest, or the one refusing)."""

    __slots__ = ("allowed", "quota", "remaining", "seconds")

    def __init__(self, allowed: bool, quota: Quota | None = None, remaining: int = 0, seconds: float = 0.0):
        self.allowed = allowed
        self.quota = quota
        self.remaining = remaining
        self.seconds = seconds  # until a place frees (refused) or the oldest counted request leaves (allowed)

    def __repr__(self) -> str:
        return f"Decision({self.allowed}, {self.quota}, remaining={self.remaining}, seconds={self.seconds:.3f})"

    def headers(self, quotas: Sequence[Quota]) -> list[tuple[bytes, bytes]]:
        """The IETF RateLimit-Policy / RateLimit fields and the widely read X-RateLimit-* of this answer."""
        quota = self.quota
        if quota is None:
            return []
        reset = max(0, math.ceil(self.seconds))
        policy, name, limit = _header_parts(quotas if type(quotas) is tuple else tuple(quotas), quota)
        return [policy, (b"ratelimit", b'"%s";r=%d;t=%d' % (name, self.remaining, reset)), limit,
                (b"x-ratelimit-remaining", b"%d" % self.remaining), (b"x-ratelimit-reset", b"%d" % reset)]


    def header_block(self, quotas: tuple[Quota, ...]) -> bytes:
        """The same fields as `headers`, as header lines ready to write (the parser's hit path)."""
        quota = self.quota
        if quota is None:
            return b""
        reset = max(0, math.ceil(self.seconds))
        return _header_template(quotas, quota) % (self.remaining, reset, self.remaining, reset)


@lru_cache(maxsize=4096)
def _header_template(quotas: tuple[Quota, ...], quota: Quota) -> bytes:
    (_, policy), name, (_, limit) = _header_parts(quotas, quota)
    escaped = [part.replace(b"%", b"%%") for part in (policy, name, limit)]
    return (b"ratelimit-policy: %s\r\nratelimit: \"%s\";r=%%d;t=%%d\r\nx-ratelimit-limit: %s\r\n"
            b"x-ratelimit-remaining: %%d\r\nx-ratelimit-reset: %%d\r\n") % tuple(escaped)


@lru_cache(maxsize=4096)
def _header_parts(quotas: tuple[Quota, ...], quota: Quota) -> tuple[tuple[bytes, bytes], bytes, tuple[bytes, bytes]]:
    """The parts of the rate headers that depend only on the quotas: built once per caller and route."""
    policy = ", ".join(f'"{q.policy}";q={q.rate.limit};w={q.rate.window:g}' for q in quotas).encode()
    return ((b"ratelimit-policy", policy), quota.policy.encode(), (b"x-ratelimit-limit", b"%d" % quota.rate.limit))


class _Slot:
    """One caller's quotas on this replica: its lease, and the requests waiting for Redis."""

    __slots__ = (
        "busy",
        "giving",
        "granted",
        "idle_at",
        "lease",
        "leased_at",
        "owner",
        "places",
        "quota",
        "quotas",
        "refill",
        "reset_at",
        "retries",
        "scheduled",
        "sent",
        "sent_used",
        "used",
        "waiting",
        "want",
    )

    def __init__(self, quotas: tuple[Quota, ...], owner: str):
        self.quotas = quotas
        self.owner = owner  # the name of its leases in Redis
        # The places this replica holds (granted), of which used; the last grant from Redis (lease).
        self.granted = self.used = self.lease = self.places = self.retries = self.sent_used = 0
        self.reset_at = self.idle_at = self.leased_at = 0.0
        self.quota = quotas[0]
        self.waiting: list[Callable[[Decision], None]] = []
        self.sent: list[Callable[[Decision], None]] = []
        self.busy = self.scheduled = self.refill = False
        self.giving = False  # the call under way gives the lease back: nothing may be answered from it
        self.want = _FIRST_WANT


class Limiter:
    """Checks quotas against Redis: leases for callers with places to spare, batched per event-loop turn."""

    def __init__(self, redis_url: str, *, fail_open: bool = True, namespace: str = "dm:rl"):
        self._redis = fail_fast_redis(redis_url, timeout=0.5)
        self._script = self._redis.register_script(_SCRIPT)
        self.fail_open = fail_open
        self._ns = namespace
        self._replica = os.urandom(6).hex()
        self._slots: dict[tuple[Quota, ...], _Slot] = {}
        self._serial = 0
        self._dirty: list[_Slot] = []
        self._down_until = 0.0
        self._warned_at = 0.0
        self._tasks: set[asyncio.Task] = set()
        self._settler: asyncio.Task | None = None

    def check(self, quotas: Sequence[Quota]) -> "asyncio.Future[Decision]":
        """A future of the decision on one request that counts against every quota in `quotas`."""
        future = asyncio.get_running_loop().create_future()
        self.check_then(quotas, lambda decision: future.done() or future.set_result(decision))
        return future

    def leased(self, quotas: Sequence[Quota]) -> Decision | None:
        """The decision on one request from this replica's lease, with no round trip; None when there is no
        place in it (ask `check_then`). Renews a big lease when half of it is used."""
        return self._take(self._slots.get(quotas))

    def _take(self, slot: "_Slot | None") -> Decision | None:
        if slot is None or slot.used >= slot.granted or slot.giving:
            return None
        slot.used += 1
        now = time.monotonic()
        slot.idle_at = now + _LEASE_IDLE_SECONDS
        if (slot.lease >= _REFILL_FROM and (slot.granted - slot.used) * 2 <= slot.lease and not slot.busy
                and not slot.refill):
            if now - slot.leased_at < _FAST_USE_SECONDS:
                slot.want = min(_MAX_WANT, slot.want * 2)  # half used that quickly: a bigger one next
            slot.refill = True
            self._schedule(slot)
        return Decision(True, slot.quota, slot.places + slot.granted - slot.used, max(0.0, slot.reset_at - now))

    def check_then(self, quotas: Sequence[Quota], decided: Callable[[Decision], None]) -> None:
        """Call `decided` with the decision on one request: at once from a lease (or when Redis is known to be
        away), else from the event loop once Redis answered. The parser's hit path uses this: no future."""
        slot = self._slots.get(quotas)
        decision = self._take(slot)
        if decision is not None:
            decided(decision)
            return
        now = time.monotonic()
        if now < self._down_until:
            decided(self._unavailable())
            return
        if slot is None:
            self._serial += 1
            slot = self._slots[tuple(quotas)] = _Slot(tuple(quotas), f"{self._replica}:{self._serial}")
            if self._settler is None:
                self._settler = asyncio.get_running_loop().create_task(self._settling())
        elif slot.granted and slot.used >= slot.granted and not slot.busy:
            slot.want = min(_MAX_WANT, slot.want * 2)  # used up before it went idle: ask for more next time
        slot.waiting.append(decided)
        self._schedule(slot)

    async def close(self) -> None:
        if self._settler is not None:
            self._settler.cancel()
            await asyncio.gather(self._settler, return_exceptions=True)
        for task in list(self._tasks):
            await task
        leased = [slot for slot in self._slots.values() if slot.granted and not slot.busy]
        if leased:  # give back what this replica holds
            self._start(leased, give_back=True)
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._redis.aclose()

    def _schedule(self, slot: _Slot) -> None:
        if slot.busy or slot.scheduled:
            return
        slot.scheduled = True
        if not self._dirty:
            asyncio.get_running_loop().call_soon(self._flush)
        self._dirty.append(slot)

    def _flush(self) -> None:
        dirty, self._dirty = self._dirty, []
        ready = []
        for slot in dirty:
            slot.scheduled = False
            if not slot.busy and (slot.waiting or slot.refill):
                ready.append(slot)
        for start in range(0, len(ready), _MAX_BATCH):
            self._start(ready[start:start + _MAX_BATCH], give_back=False)

    def _start(self, slots: list[_Slot], *, give_back: bool) -> None:
        """Take each slot's waiting requests and ask Redis about them in one task. The slots are busy from now,
        not from when the task first runs: a slot is never in two calls at once (a second call would take
        the first one's requests from it, and they would never be answered). Unless the lease is given back,
        what is left of it is carried into the new one, and requests go on using it while Redis answers."""
        keys: list[str] = []
        args: list[int | str] = [len(slots)]
        for slot in slots:
            slot.busy, slot.giving, slot.refill, slot.sent_used = True, give_back, False, slot.used
            slot.sent, slot.waiting = slot.waiting, []
            if give_back and slot.used < slot.granted:
                slot.want = max(1, min(slot.want, slot.used))  # it did not need all it had
            args += (slot.owner, len(slot.quotas), len(slot.sent), 0 if give_back else slot.want,
                     slot.used if slot.granted else -1, 0 if give_back else 1)
            for quota in slot.quotas:
                keys.append(f"{self._ns}:{quota.policy}:{quota.identity}")
                args += (quota.rate.limit, int(quota.rate.window * 1000))
        task = asyncio.get_running_loop().create_task(self._run(slots, keys, args))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settling(self) -> None:
        """Give back leases that went idle, and forget callers with nothing left here."""
        while True:
            await asyncio.sleep(_SETTLE_EVERY)
            now = time.monotonic()
            idle = []
            for quotas, slot in list(self._slots.items()):
                if slot.busy or slot.waiting or slot.scheduled or now < slot.idle_at:
                    continue
                if slot.granted:
                    idle.append(slot)
                else:
                    del self._slots[quotas]
            for start in range(0, len(idle), _MAX_BATCH):
                self._start(idle[start:start + _MAX_BATCH], give_back=True)

    async def _run(self, slots: list[_Slot], keys: list[str], args: list[int | str]) -> None:
        try:
            result = await self._script(keys=keys, args=args)
        except (TimeoutError, RedisError, OSError) as exc:
            self._down_until = time.monotonic() + _COOLDOWN_SECONDS
            self._warn(exc)
            for slot in slots:
                slot.busy = slot.giving = False
                slot.granted = slot.used = slot.lease = 0
                waiting, slot.sent, slot.waiting = [*slot.sent, *slot.waiting], [], []
                for decided in waiting:
                    _deliver(decided, self._unavailable())
            return
        values = [int(v) for v in result.split(b",")]
        now = time.monotonic()
        at = 1
        for slot in slots:
            grant, bind, places, reset_ms, free_ms, others = values[at:at + 6]
            at += 6
            self._decided(slot, grant, slot.quotas[bind - 1], places, now + reset_ms / 1000, free_ms / 1000,
                          others, now)

    def _decided(self, slot: _Slot, grant: int, quota: Quota, places: int, reset_at: float, free_seconds: float,
                 others: int, now: float) -> None:
        sent, slot.sent = slot.sent, []
        if slot.giving:
            granted, used = grant, 0
        else:  # the lease's rest when asked is carried; requests answered from it meanwhile used some
            carried, used = slot.granted - slot.sent_used, slot.used - slot.sent_used
            granted = carried + grant
            if carried and used >= carried:
                slot.want = min(_MAX_WANT, slot.want * 2)  # it ran out before the answer came: ask for more
        served = min(granted - used, len(sent))
        slot.busy = slot.giving = False
        slot.granted, slot.used, slot.lease, slot.places, slot.quota = granted, used + served, grant, places, quota
        slot.reset_at, slot.idle_at, slot.leased_at = reset_at, now + _LEASE_IDLE_SECONDS, now
        for index, decided in enumerate(sent[:served]):
            _deliver(decided, Decision(True, quota, places + granted - used - index - 1, max(0.0, reset_at - now)))
        refused = sent[served:]
        if refused and others > 0 and slot.retries < _RETRIES:
            # Another replica may give back places it holds: ask again shortly, in the same order.
            slot.retries += 1
            slot.waiting = [*refused, *slot.waiting]
            asyncio.get_running_loop().call_later(_RETRY_EVERY, self._schedule, slot)
            return
        slot.retries = 0
        for decided in refused:
            REFUSED.inc(quota.policy)
            _deliver(decided, Decision(False, quota, 0, max(0.0, free_seconds)))
        while slot.waiting and slot.used < slot.granted:  # came while Redis was asked
            slot.used += 1
            _deliver(slot.waiting.pop(0),
                     Decision(True, quota, places + slot.granted - slot.used, max(0.0, reset_at - now)))
        if slot.waiting:
            self._schedule(slot)

    def _unavailable(self) -> Decision:
        UNAVAILABLE.inc()
        return Decision(self.fail_open)

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at > 10:
            self._warned_at = now
            log.warning("rate limits unavailable (Redis: %s): failing %s", exc or type(exc).__name__,
                        "open" if self.fail_open else "closed")


def _deliver(decided: Callable[[Decision], None], decision: Decision) -> None:
    """Hand one decision over; a receiver that fails (its connection broke mid-write) must not keep the
    decisions of the requests after it in the same Redis answer from being delivered."""
    try:
        decided(decision)
    except Exception:
        log.exception("a rate-limit decision could not be delivered")

