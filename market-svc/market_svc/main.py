"""market-svc: the app factory and its lifespan."""

import asyncio
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from dm_shared.adapter import source_health
from dm_shared.app import create_service_app
from dm_shared.budget import Budget
from dm_shared.bus import Bus
from dm_shared.envelope import JsonResponse
from dm_shared.health import DEPENDENCY, component, probe, report
from dm_shared.logs import configure_logging
from dm_shared.redis_client import fail_fast_redis
from dm_shared.upstream import UpstreamClient

from market_svc.adapters.cmc import KEY_SETTING as CMC_KEY
from market_svc.api import derivatives, exchange, market, stats
from market_svc.settings import get_settings
from market_svc.sources import Sources

log = logging.getLogger("market")
VERSION = "0.1.0"


async def _warm_markets(sources: Sources) -> None:
    # Exchange market lists are needed to resolve symbols; load them early, without holding up start-up.
    for venue in sources.exchanges:
        try:
            await venue.markets()
        except Exception as exc:  # logged and retried on first use
            log.warning("could not load %s markets yet: %s", venue.name, exc)


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings = get_settings()
    configure_logging("market-svc", settings.log_level)
    redis = fail_fast_redis(settings.redis_url)
    client = UpstreamClient()
    sources = Sources(settings, client, Budget(redis))
    bus = Bus(settings.nats_url, name="market-svc")
    await bus.start()
    warm = asyncio.create_task(_warm_markets(sources))
    app.state.sources, app.state.bus, app.state.settings = sources, bus, settings
    try:
        yield
    finally:
        warm.cancel()
        await asyncio.gather(warm, return_exceptions=True)
        await bus.close()
        await sources.close()
        await client.close()
        await redis.aclose()


def create_app() -> FastAPI:
    """The market-svc ASGI app."""
    app = create_service_app(title="market-svc", version=VERSION, lifespan=lifespan,
                             description="Market data: lists, prices, candles, books, trades, statistics, "
                                         "history and derivatives, each with a fallback chain.")
    for router in (market.router, exchange.router, stats.router, derivatives.router):
        app.include_router(router)

    @app.get("/health", include_in_schema=False)
    async def health() -> JsonResponse:
        """Every source (breaker, key, loaded markets) and the bus, in the suite's health shape."""
        sources: Sources = app.state.sources
        components = {a.name: source_health(a, CMC_KEY if a is sources.cmc else None) for a in sources.adapters}
        for venue in sources.exchanges:
            components[venue.name]["markets"] = len(venue.known_symbols())
        components["nats"] = component(DEPENDENCY, await probe(app.state.bus.check))
        body, status = report("market-svc", VERSION, components)
        return JsonResponse(body, status_code=status)

    return app
