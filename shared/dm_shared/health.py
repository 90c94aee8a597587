"""Health checks of dependencies, and the rule that turns them into one status a load balancer can use."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

OK, DEGRADED, DOWN = "ok", "degraded", "down"


async def probe(check: Callable[[], Awaitable[Any]], timeout: float = 1.0) -> dict[str, Any]:
    """Run one check with a deadline: `{"status": "ok"|"down", "latency_ms", "error"?}`."""
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


def http_status(status: str) -> int:
    """503 only when down, so a degraded instance keeps taking traffic."""
    return 503 if status == DOWN else 200
