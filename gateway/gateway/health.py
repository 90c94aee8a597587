"""/health: every service and dependency, in the suite's one health shape, and one status a load balancer
can act on. Services are read through their own /health without knowing what is inside them."""

import asyncio
import time
from typing import Any

import orjson
from pymongo import AsyncMongoClient

from dm_shared.bus import Bus
from dm_shared.cache import Cache
from dm_shared.health import DEGRADED, DEPENDENCY, DOWN, SOURCE, component, overall, probe
from dm_shared.mongo import ping

from gateway.registry import SERVICES
from gateway.services import ServiceClient

STARTED = time.time()
VERSION = "0.1.0"
PROBE_SECONDS = 2.0
# A service that is busy, not gone, can miss one probe's deadline: it is `degraded` until it has not
# answered for this long, then `unhealthy`. One that refuses or says it is down is unhealthy at once.
SLOW_GRACE_SECONDS = 10.0
_slow_since: dict[str, float] = {}


def _service_check(services: ServiceClient, name: str):
    async def check() -> dict[str, Any]:
        response = await services.get(name, "/health")
        detail = orjson.loads(response.content)
        reported = detail.get("status", DOWN) if isinstance(detail, dict) else DOWN
        if response.status_code != 200 or reported == DOWN:
            raise RuntimeError(f"{name} reports {reported} (HTTP {response.status_code})")
        # A service that answers but calls itself degraded is degraded here too.
        return {"status": reported, "components": detail.get("components", {})}
    return check


async def report(*, services: ServiceClient, cache: Cache, bus: Bus, mongo: AsyncMongoClient) -> dict[str, Any]:
    """Every service (a source of answers: down only when all are) and the gateway's own dependencies."""
    # All at once: the answer takes as long as the slowest probe, not the sum of them.
    *found, redis, nats, mongodb = await asyncio.gather(
        *(probe(_service_check(services, s.name), timeout=PROBE_SECONDS) for s in SERVICES),
        probe(cache.redis.ping), probe(bus.check), probe(lambda: ping(mongo)))
    components = {f"{s.name}-svc": component(SOURCE, slow_or_down(s.name, entry), required=s.required)
                  for s, entry in zip(SERVICES, found, strict=True)}
    components["redis"] = component(DEPENDENCY, redis)
    components["nats"] = component(DEPENDENCY, nats)
    components["mongodb"] = component(DEPENDENCY, mongodb)
    return {"status": overall(components), "version": VERSION, "uptime": round(time.time() - STARTED, 1),
            "components": components}


def slow_or_down(name: str, entry: dict[str, Any], grace: float = SLOW_GRACE_SECONDS) -> dict[str, Any]:
    """A probe that timed out is a slow service (degraded) for `grace` seconds, then a down one."""
    if entry["status"] != DOWN or not entry.get("error", "").startswith("TimeoutError"):
        _slow_since.pop(name, None)
        return entry
    now = time.monotonic()
    slow_for = now - _slow_since.setdefault(name, now)
    if slow_for < grace:
        return {**entry, "status": DEGRADED, "error": f"no answer within {PROBE_SECONDS:g} s (busy)"}
    return {**entry, "error": f"no answer for {slow_for:.0f} s"}

