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
