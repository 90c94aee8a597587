"""market-svc: the app factory and its lifespan."""

import asyncio
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from dm_shared.app import create_service_app
from dm_shared.breaker import BreakerState
from dm_shared.bus import Bus
from dm_shared.envelope import JsonResponse, now_ms
from dm_shared.health import DEGRADED, DOWN, OK, http_status, probe
from dm_shared.logs import configure_logging
from dm_shared.upstream import UpstreamClient

from market_svc.api.routes import router
from market_svc.service import MarketService
from market_svc.settings import get_settings

log = logging.getLogger("market")


async def _warm_markets(service: MarketService) -> None:
    # Exchange market lists are needed to validate symbols; load them early, without holding up start-up.
    for exchange in service.exchanges:
        try:
            await exchange.markets()
        except Exception as exc:  # logged and retried on first use
            log.warning("could not load %s markets yet: %s", exchange.name, exc)


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings = get_settings()
    configure_logging("market-svc", settings.log_level)
    client = UpstreamClient()
    service = MarketService(settings, client)
    bus = Bus(settings.nats_url, name="market-svc")
    await bus.start()
    warm = asyncio.create_task(_warm_markets(service))
    app.state.service, app.state.bus = service, bus
    try:
        yield
    finally:
        warm.cancel()
        await asyncio.gather(warm, return_exceptions=True)
        await bus.close()
        await service.close()
        await client.close()


def create_app() -> FastAPI:
    """The market-svc ASGI app."""
    app = create_service_app(title="market-svc", version="0.1.0", lifespan=lifespan,
                             description="Market data: market list and OHLCV with fallback chains.")
    app.include_router(router)

    @app.get("/health", include_in_schema=False)
    async def health() -> JsonResponse:
        """Sources (breaker state, key present) and the bus."""
        service: MarketService = app.state.service
        sources = {}
        for name, breaker in [("coingecko", service.coingecko.upstream.breaker), ("binance", service.binance.breaker),
                              ("kucoin", service.kucoin.breaker), ("coinmarketcap", service.cmc.upstream.breaker)]:
            state = breaker.state
            sources[name] = {"status": OK if state is BreakerState.CLOSED else DEGRADED, "breaker": state.value}
        if not service.cmc.keyed:
            sources["coinmarketcap"] = {"status": "skipped", "reason": "MARKET_CMC_API_KEY is not set"}
        for exchange in service.exchanges:
            sources[exchange.name]["markets"] = len(exchange.known_symbols())
        nats = await probe(app.state.bus.check)
        usable = any(s["status"] == OK for s in sources.values())
        status = OK if usable and nats["status"] == OK else (DEGRADED if usable else DOWN)
        return JsonResponse({"status": status, "service": "market-svc", "timestamp": now_ms(),
                             "sources": sources, "nats": nats}, status_code=http_status(status))

    return app
