"""One /health shape for every service, and the one rule that turns its components into one status.

    {"status": "healthy", "service": "market-svc", "version": "0.1.0", "timestamp": 1795269064632,
     "components": {"coingecko": {"kind": "source", "status": "healthy", "breaker": "closed"},
                    "nats": {"kind": "dependency", "status": "healthy", "latency_ms": 0.4}}}

The words are spec 002's: `healthy`, `degraded` (something is down, answers are still served), `unhealthy`
(HTTP 503), and `skipped` for a source that is not configured (no API key).

A component is a `source` (an upstream or a service the answers come from: the whole is down only when
every source is) or a `dependency` (Redis, NATS, MongoDB, a feed: down makes the whole down only when it
is `required`). The gateway aggregates services' reports without knowing what is inside them.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from dm_shared.clock import now_ms

OK, DEGRADED, DOWN, SKIPPED = "healthy", "degraded", "unhealthy", "skipped"
SOURCE, DEPENDENCY = "source", "dependency"
Kind = Literal["source", "dependency"]


async def probe(check: Callable[[], Awaitable[Any]], timeout: float = 1.0) -> dict[str, Any]:
    """Run one check with a deadline: `{"status": "healthy"|"unhealthy", "latency_ms", "error"?}`."""
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(check(), timeout)
    except Exception as exc:  # a health probe reports every failure instead of raising it
        return {"status": DOWN, "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                "error": f"{type(exc).__name__}: {exc}"[:200]}
    result = {"status": OK, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}
    if isinstance(detail, dict):
        result.update(detail)
    return result


def component(kind: Kind, entry: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    """A component entry: its kind (and whether it is required) first, then what its check found."""
    return {"kind": kind, **({"required": True} if required else {}), **entry}


def overall(components: Mapping[str, Mapping[str, Any]]) -> str:
    """Unhealthy when a required component is, or every source; degraded when anything else is not healthy."""
    counted = [c for c in components.values() if c["status"] != SKIPPED]
    sources = [c for c in counted if c.get("kind") == SOURCE]
    if any(c.get("required") and c["status"] == DOWN for c in counted) or (
            sources and all(c["status"] == DOWN for c in sources)):
        return DOWN
    if any(c["status"] != OK for c in counted):
        return DEGRADED
    return OK


def http_status(status: str) -> int:
    """503 only when unhealthy, so a degraded instance keeps taking traffic."""
    return 503 if status == DOWN else 200


def report(service: str, version: str, components: dict[str, dict[str, Any]],
           **extra: Any) -> tuple[dict[str, Any], int]:
    """A service's /health body in the one shape, and the HTTP status that goes with it."""
    status = overall(components)
    body = {"status": status, "service": service, "version": version, "timestamp": now_ms(),
            "components": components, **extra}
    return body, http_status(status)
