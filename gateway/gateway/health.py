"""/health: every service and dependency, and one status a load balancer can act on."""

import time
from typing import Any

import orjson
from motor.motor_asyncio import AsyncIOMotorClient

from dm_shared.bus import Bus
from dm_shared.cache import Cache
from dm_shared.health import DEGRADED, DOWN, OK, probe

from gateway.services import ServiceClient

STARTED = time.time()


async def report(*, services: ServiceClient, cache: Cache, bus: Bus, mongo: AsyncIOMotorClient) -> dict[str, Any]:
    """Components with their status; `down` only when no service can answer."""

    def service_check(name: str):
        async def check() -> dict[str, Any]:
            response = await services.get(name, "/health")
            detail = orjson.loads(response.content)
            if response.status_code != 200:
                raise RuntimeError(f"{name} reports {detail.get('status', response.status_code)}")
            return {"reported": detail.get("status"), **{k: detail[k] for k in ("sources", "feeds") if k in detail}}
        return check

    async def mongo_check() -> dict[str, Any]:
        await mongo.admin.command("ping")
        return {}

    components = {f"{name}-svc": await probe(service_check(name), timeout=2.0) for name in services.urls}
    components["redis"] = await probe(cache.redis.ping)
    components["nats"] = await probe(bus.check)
    components["mongodb"] = await probe(mongo_check)
    for name in services.urls:  # a service that answers but calls itself degraded is degraded here too
        entry = components[f"{name}-svc"]
        if entry["status"] == OK and entry.get("reported") not in (None, OK):
            entry["status"] = DEGRADED
    service_states = [components[f"{name}-svc"]["status"] for name in services.urls]
    if all(state == DOWN for state in service_states):
        status = DOWN
    elif any(c["status"] != OK for c in components.values()):
        status = DEGRADED
    else:
        status = OK
    return {"status": status, "version": "0.1.0", "uptime": round(time.time() - STARTED, 1), "services": components}
