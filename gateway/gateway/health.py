"""/health: every service and dependency, in the suite's one health shape, and one status a load balancer
can act on. Services are read through their own /health without knowing what is inside them."""

import time
from typing import Any

import orjson
from pymongo import AsyncMongoClient

from dm_shared.bus import Bus
from dm_shared.cache import Cache
from dm_shared.health import DEPENDENCY, DOWN, SOURCE, component, overall, probe
from dm_shared.mongo import ping

from gateway.registry import SERVICES
from gateway.services import ServiceClient

STARTED = time.time()
VERSION = "0.1.0"


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
    components = {f"{s.name}-svc": component(SOURCE, await probe(_service_check(services, s.name), timeout=2.0),
                                             required=s.required) for s in SERVICES}
    components["redis"] = component(DEPENDENCY, await probe(cache.redis.ping))
    components["nats"] = component(DEPENDENCY, await probe(bus.check))
    components["mongodb"] = component(DEPENDENCY, await probe(lambda: ping(mongo)))
    return {"status": overall(components), "version": VERSION, "uptime": round(time.time() - STARTED, 1),
            "components": components}
