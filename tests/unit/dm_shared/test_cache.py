"""Cache entries and the spec's TTLs."""

import time

from dm_shared.cache import TTL, Entry


def test_cache_ttls_are_the_specs():
    assert TTL == {"price": 5, "ohlcv": 60, "market": 60, "news": 300, "sentiment": 600, "ai_signals": 120,
                   "stats": 300}


def test_entry_round_trips_and_ages():
    entry = Entry(body=b'{"a":1}', fetched_at=int(time.time() * 1000) - 3000, ttl=2)
    again = Entry.from_bytes(entry.to_bytes())
    assert (again.body, again.fetched_at, again.ttl) == (entry.body, entry.fetched_at, entry.ttl)
    assert not again.fresh() and again.age_ms() >= 3000
