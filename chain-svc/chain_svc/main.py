"""chain-svc: the app factory and its lifespan (the whale detector runs in the background, under a lease)."""

import asyncio
import logging
import uuid
from contextlib import asynccontextmanager

from fastapi import FastAPI

from dm_shared.adapter import source_health
from dm_shared.app import create_service_app
from dm_shared.budget import Budget
from dm_shared.bus import Bus, Publisher
from dm_shared.envelope import JsonResponse
from dm_shared.health import DEPENDENCY, component, probe, report
from dm_shared.leases import Leases
from dm_shared.logs import configure_logging
from dm_shared.mongo import database, open_mongo, ping
from dm_shared.redis_client import fail_fast_redis
from dm_shared.subjects import CHAIN_LEASES, WHALES
from dm_shared.upstream import UpstreamClient

from chain_svc.adapters.whale_alert import KEY_SETTING as WHALE_ALERT_KEY
from chain_svc.api import transactions, whales
from chain_svc.domain.labels import default_labels
from chain_svc.service.detector import Detector
from chain_svc.service.store import AlertStore
from chain_svc.settings import get_settings
from chain_svc.sources import ETHERSCAN_KEY, Sources

log = logging.getLogger("chain")
VERSION = "0.1.0"
# What Etherscan's free plan does not cover, said in /health before anyone asks.
PAID_PLAN_ONLY = {"bsc": "BSC needs a paid Etherscan plan: the free plan answers NOTOK \"Free API access is not "
                         "supported for this chain\""}


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings = get_settings()
    configure_logging("chain-svc", settings.log_level)
    replica = settings.replica_id or uuid.uuid4().hex[:12]
    redis = fail_fast_redis(settings.redis_url)
    client = UpstreamClient()
    sources = Sources(settings, client, Budget(redis))
    bus = Bus(settings.nats_url, name=f"chain-svc-{replica}")
    bus.declare(WHALES, max_age=settings.whales_max_age_seconds, max_messages=settings.whales_max_messages)
    await bus.start()
    mongo = open_mongo(settings.mongo_url)
    store = AlertStore(database(mongo, settings.mongo_url))
    detector = Detector(sources, store, Publisher(bus, producer=replica), default_labels(),
                        min_usd=settings.whale_min_usd, poll_seconds=settings.poll_seconds,
                        max_blocks=settings.max_blocks_per_poll)
    leases = Leases(bus, bucket=CHAIN_LEASES, replica=replica, ttl=settings.lease_ttl_seconds,
                    renew_every=settings.lease_renew_seconds)
    task = asyncio.create_task(leases.run(settings.whale_chains, detector.hold), name="chain-leases")
    app.state.sources, app.state.store, app.state.bus, app.state.mongo = sources, store, bus, mongo
    app.state.detector, app.state.leases = detector, leases
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await detector.stop()
        await bus.close()
        await mongo.close()
        await sources.close()
        await client.close()
        await redis.aclose()


def create_app() -> FastAPI:
    """The chain-svc ASGI app."""
    app = create_service_app(title="chain-svc", version=VERSION, lifespan=lifespan,
                             description="Address history on Ethereum, BSC, Polygon and Bitcoin, and whale alerts "
                                         "(Whale Alert when keyed, else chain-svc's own block scan).")
    app.include_router(transactions.router)
    app.include_router(whales.router)

    @app.get("/health", include_in_schema=False)
    async def health() -> JsonResponse:
        """Every explorer (breaker, key, plan), the detector, the bus and the alert store."""
        sources: Sources = app.state.sources
        keys = {sources.etherscan.name: ETHERSCAN_KEY, sources.whale_alert.name: WHALE_ALERT_KEY}
        components = {a.name: source_health(a, keys.get(a.name)) for a in sources.adapters}
        components[sources.etherscan.name]["paid_plan_only"] = {**PAID_PLAN_ONLY, **sources.etherscan.refused}
        detector: Detector = app.state.detector
        components["nats"] = component(DEPENDENCY, await probe(app.state.bus.check))
        components["mongodb"] = component(DEPENDENCY, await probe(lambda: ping(app.state.mongo)))
        body, status = report("chain-svc", VERSION, components, replica=app.state.leases.replica,
                              scanning=detector.chains, heads=detector.heads, alerts_found=detector.found,
                              last_scan_error=detector.last_error)
        return JsonResponse(body, status_code=status)

    return app
