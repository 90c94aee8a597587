"""A cached body served from cache: the endpoint's fields as stored, a fresh timestamp, provenance relabelled."""

import orjson

from dm_shared.cache import Entry

from gateway.relabel import relabel

PROVENANCE = {"source": "binance", "sources": ["binance", "okx"], "cached": False, "stale": False, "age_ms": 0}


def served(body: dict, **label) -> dict:
    entry = Entry(body=orjson.dumps(body), fetched_at=1_000, ttl=5)
    return orjson.loads(relabel(entry, now=4_000, stale=label.get("stale", False), reason=label.get("reason")))


def test_fields_stay_and_provenance_says_cached_with_its_age_in_the_services_order_and_any_other():
    fields = {"symbol": "BTC/USDT", "price": 97_000.5, "bids": [[96_999.5, 0.25]]}
    in_order = {"success": True, "timestamp": 1_000, **fields, "provenance": PROVENANCE}
    shuffled = {"provenance": PROVENANCE, "symbol": "BTC/USDT", "timestamp": 1_000, "success": True,
                "price": 97_000.5, "bids": [[96_999.5, 0.25]]}
    for body in (in_order, shuffled):
        assert served(body) == {"success": True, "timestamp": 4_000, **fields,
                                "provenance": {**PROVENANCE, "cached": True, "stale": False, "age_ms": 3_000}}
    stale = served(in_order, stale=True, reason="every source failed")
    assert stale["provenance"]["stale"] is True and stale["provenance"]["stale_reason"] == "every source failed"


def test_the_stored_body_is_kept_once_when_it_holds_the_unchanging_fields_as_written():
    body = orjson.dumps({"success": True, "timestamp": 1_000, "data": list(range(10_000)), "provenance": PROVENANCE})
    entry = Entry(body=body, fetched_at=1_000, ttl=5)
    relabel(entry, now=2_000, stale=False)
    rest = entry.memo["parts"][1]
    assert isinstance(rest, memoryview) and rest.obj is body  # a view into the stored body, not a copy


def test_the_same_millisecond_is_rendered_once_and_another_entry_or_label_anew():
    first, second = (Entry(body=orjson.dumps({"success": True, "timestamp": 1, "n": n, "provenance": {}}),
                           fetched_at=1, ttl=5) for n in (1, 2))
    once = relabel(first, now=10, stale=False)
    assert relabel(first, now=10, stale=False) is once
    assert orjson.loads(relabel(second, now=10, stale=False))["n"] == 2
    assert orjson.loads(relabel(first, now=10, stale=True))["provenance"]["stale"] is True
    assert orjson.loads(relabel(first, now=11, stale=False))["timestamp"] == 11
