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
