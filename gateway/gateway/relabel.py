"""Relabel a cached body at serve time: fresh `timestamp`, and provenance saying cached, stale and age."""

import orjson

from dm_shared.cache import Entry


def relabel(entry: Entry, *, now: int, stale: bool, reason: str | None = None) -> bytes:
    """The stored body as served from cache now; the parsed body is kept with the entry for the next hit."""
    parsed = entry.memo.get("json")
    if parsed is None:
        parsed = entry.memo["json"] = orjson.loads(entry.body)
    provenance = {**parsed.get("provenance", {}), "cached": True, "stale": stale, "age_ms": entry.age_ms(now)}
    if reason:
        provenance["stale_reason"] = reason
    return orjson.dumps({**parsed, "timestamp": now, "provenance": provenance})
