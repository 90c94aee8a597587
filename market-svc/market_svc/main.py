"""market-svc: the app factory and its lifespan."""

import asyncio
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from dm_shared.app import create_service_app
from dm_shared.breaker import BreakerState
from dm_shared.budget import Budget
from dm_shared.bus import Bus
from dm_shared.cache import fail_fast_redis
from dm_shared.envelope import JsonResponse, now_ms
from dm_shared.health import DEGRADED, DOWN, OK, http_status, probe
from dm_shared.logs import configure_logging
from dm_shared.upstream import UpstreamClient

from market_svc.api import derivatives, exchange, market, stats
from market_svc.settings import get_settings
from market_svc.sources import Sources

log = logging.getLogger("market")


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
    budget = Budget(redis)
    client = UpstreamClient(budget=budget)
    sources = Sources(settings, client, budget)
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
    app = create_service_app(title="market-svc", version="0.1.0", lifespan=lifespan,
                             description="Market data: lists, prices, candles, books, trades, statistics, "
                                         "history and derivatives, each with a fallback chain.")
    for router in (market.router, exchange.router, stats.router, derivatives.router):
        app.include_router(router)

    @app.get("/health", include_in_schema=False)
    async def health() -> JsonResponse:
        """Sources (breaker state, key present) and the bus."""
        upstreams: Sources = app.state.sources
        breakers = [("coingecko", upstreams.coingecko.upstream.breaker),
                    *((e.name, e.breaker) for e in upstreams.exchanges),
                    ("coinmarketcap", upstreams.cmc.upstream.breaker)]
        sources = {}
        for name, breaker in breakers:
            state = breaker.state
            sources[name] = {"status": OK if state is BreakerState.CLOSED else DEGRADED, "breaker": state.value}
        if not upstreams.cmc.keyed:
            sources["coinmarketcap"] = {"status": "skipped", "reason": "MARKET_CMC_API_KEY is not set"}
        for venue in upstreams.exchanges:
            sources[venue.name]["markets"] = len(venue.known_symbols())
        nats = await probe(app.state.bus.check)
        usable = any(s["status"] == OK for s in sources.values())
        status = OK if usable and nats["status"] == OK else (DEGRADED if usable else DOWN)
        return JsonResponse({"status": status, "service": "market-svc", "timestamp": now_ms(),
                             "sources": sources, "nats": nats}, status_code=http_status(status))

    return app
