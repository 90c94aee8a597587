"""Relabel a cached body at serve time: fresh `timestamp`, and provenance saying cached, stale and age.

The body's unchanging fields are serialized once per cache entry; each hit only splices in the two
fields that change, because re-serializing a large market list on every hit would cost more than
the rest of the request. The last body rendered is kept for the hits of the same millisecond: one
render for the whole process, not one per entry. The unchanging part is a view into the stored body
when the body holds it as one run of bytes (the services' order: provenance last), so a body is kept once.
"""

from typing import Any

import orjson

from dm_shared.cache import Entry

_DYNAMIC = ("success", "timestamp", "provenance")
_last: list = [None, None, b""]  # the entry last rendered, (now, stale, reason), the body


def _parts(entry: Entry) -> tuple[bytes, bytes | memoryview, dict[str, Any]]:
    parts = entry.memo.get("parts")
    if parts is None:
        parsed = orjson.loads(entry.body)
        head = b'{"success":' + orjson.dumps(parsed.get("success", True)) + b',"timestamp":'
        rest = orjson.dumps({k: v for k, v in parsed.items() if k not in _DYNAMIC})[1:-1]
        rest = b"," + rest if rest else b""
        at = entry.body.find(rest) if rest else -1
        if at >= 0:  # the body holds those bytes already (provenance last, as the services write it): no copy
            rest = memoryview(entry.body)[at:at + len(rest)]
        parts = entry.memo["parts"] = (head, rest, parsed.get("provenance", {}))
    return parts


def relabel(entry: Entry, *, now: int, stale: bool, reason: str | None = None) -> bytes:
    """The stored body as served from cache at `now` (rendered once per millisecond under load)."""
    label = (now, stale, reason)
    if _last[0] is entry and _last[1] == label:
        return _last[2]
    head, rest, provenance = _parts(entry)
    provenance = {**provenance, "cached": True, "stale": stale, "age_ms": entry.age_ms(now)}
    if reason:
        provenance["stale_reason"] = reason
    body = b"".join((head, str(now).encode(), rest, b',"provenance":', orjson.dumps(provenance), b"}"))
    _last[:] = entry, label, body
    return body
