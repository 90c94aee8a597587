"""Cache entries and the spec's TTLs."""

import time

from dm_shared.cache import TTL, Entry

SPEC_002 = {"price": 5, "ohlcv": 60, "market": 60, "news": 300, "sentiment": 600, "ai_signals": 120, "stats": 300}


def test_cache_ttls_keep_the_specs_values():
    # Kinds spec 002 names keep its values; kinds it does not name (chain) are the suite's own choice.
    assert {kind: TTL[kind] for kind in SPEC_002} == SPEC_002
    assert all(ttl > 0 for ttl in TTL.values())


def test_entry_round_trips_and_ages():
    entry = Entry(body=b'{"a":1}', fetched_at=int(time.time() * 1000) - 3000, ttl=2)
    again = Entry.from_bytes(entry.to_bytes())
    assert (again.body, again.fetched_at, again.ttl) == (entry.body, entry.fetched_at, entry.ttl)
    assert not again.fresh() and again.age_ms() >= 3000


async def test_the_in_process_tier_holds_at_most_its_bytes_oldest_out_first():
    from dm_shared.cache import Cache

    # No Redis behind this URL: the shared tier steps aside and the in-process tier is all there is.
    cache = Cache("redis://127.0.0.1:9/0", l1_size=100, l1_bytes=10_000, redis_timeout=0.05)
    now = int(time.time() * 1000)
    try:
        for i in range(6):
            await cache.put(f"k{i}", Entry(body=b"x" * 3_000, fetched_at=now, ttl=60))
        held = [f"k{i}" for i in range(6) if cache.peek(f"k{i}", now) is not None]
        assert held == ["k3", "k4", "k5"]  # 9,000 bytes: a fourth body would pass 10,000
    finally:
        await cache.close()


async def test_the_in_process_tier_lets_entries_go_soon_after_their_ttl():
    """Its memory follows the keys asked for lately: an entry leaves a short while after its TTL (Redis keeps
    it for the stale window), whatever was stored before or after it."""
    import asyncio

    from dm_shared.cache import Cache

    cache = Cache("redis://127.0.0.1:9/0", l1_stale_seconds=1, redis_timeout=0.05)
    try:
        now = int(time.time() * 1000)
        await cache.put("long", Entry(body=b"x" * 100, fetched_at=now, ttl=60))
        await cache.put("short", Entry(body=b"y" * 1000, fetched_at=now, ttl=0.1))
        assert (cache.l1_entries, cache.l1_bytes) == (2, 1100)
        await asyncio.sleep(0.3)
        await cache.put("next", Entry(body=b"z" * 10, fetched_at=int(time.time() * 1000), ttl=60))
        assert cache.l1_entries == 3  # past its TTL, within its 1 s: still held
        await asyncio.sleep(1)
        await cache.put("last", Entry(body=b"w" * 10, fetched_at=int(time.time() * 1000), ttl=60))
        assert (cache.l1_entries, cache.l1_bytes) == (3, 120)  # "short" went; the rest stay
        assert await cache.get("short") is None and (await cache.get("long")).body == b"x" * 100
    finally:
        await cache.close()


async def test_a_caller_that_gives_up_leaves_the_one_fetch_to_those_still_waiting():
    """Under load a request's deadline can pass while its fetch is under way: the others waiting for the same
    key still get that fetch's value, and the upstream is called once."""
    import asyncio

    from dm_shared.cache import Cache

    cache = Cache("redis://127.0.0.1:9/0", redis_timeout=0.05)
    calls = 0

    async def fetch() -> bytes:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.3)
        return b'{"v":1}'

    try:
        leader = asyncio.ensure_future(cache.get_or_fetch("k", 60, fetch))
        await asyncio.sleep(0.05)
        follower = asyncio.ensure_future(cache.get_or_fetch("k", 60, fetch))
        await asyncio.sleep(0.05)
        leader.cancel()  # its deadline passed
        lookup = await follower
        assert lookup.entry.body == b'{"v":1}' and calls == 1
        assert leader.cancelled()
    finally:
        await cache.close()


async def test_a_fetch_nobody_waits_for_any_more_is_cancelled_and_stores_nothing():
    import asyncio

    from dm_shared.cache import Cache

    cache = Cache("redis://127.0.0.1:9/0", redis_timeout=0.05)
    cancelled = asyncio.Event()

    async def fetch() -> bytes:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return b'{"v":1}'

    try:
        only = asyncio.ensure_future(cache.get_or_fetch("k", 60, fetch))
        await asyncio.sleep(0.05)
        only.cancel()
        await asyncio.wait_for(cancelled.wait(), 1)
        assert cache.peek("k", int(time.time() * 1000)) is None

        async def quick() -> bytes:
            return b'{"v":2}'

        assert (await cache.get_or_fetch("k", 60, quick)).entry.body == b'{"v":2}'  # a fresh start
    finally:
        await cache.close()
