"""The gateway: app factory and lifespan."""

import gc
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from pymongo import AsyncMongoClient
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp
from swagger_ui_bundle import swagger_ui_path

from dm_shared.app import create_service_app
from dm_shared.bus import Bus
from dm_shared.cache import Cache
from dm_shared.clock import now_ms
from dm_shared.edge import Edge
from dm_shared.envelope import JsonResponse
from dm_shared.health import http_status
from dm_shared.logs import configure_logging
from dm_shared.mongo import open_mongo

from gateway import health, ws
from gateway.openapi import OpenApiMerger
from gateway.proxy import ApiProxy
from gateway.services import ServiceClient
from gateway.settings import get_settings
from gateway.streams import Hub


class _Parts:
    """What the lifespan opens, reachable from both the FastAPI routes and the proxy."""

    services: ServiceClient
    cache: Cache
    bus: Bus
    mongo: AsyncMongoClient
    openapi: OpenApiMerger


def create_app() -> ASGIApp:
    """The gateway ASGI app: the /api fast path, then FastAPI (behind the edge middleware) for the rest."""
    settings = get_settings()
    parts = _Parts()

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        configure_logging("gateway", settings.log_level)
        parts.services = ServiceClient(settings.service_urls(), timeout=settings.service_timeout)
        parts.cache = Cache(settings.redis_url, stale_seconds=settings.cache_stale_seconds)
        hub_ref: list[Hub] = []

        async def bus_down() -> None:
            if hub_ref:
                hub_ref[0].broadcast({"type": "status", "status": "degraded", "reason": "bus reconnecting",
                                      "timestamp": now_ms()})

        async def bus_up() -> None:
            if hub_ref:
                await hub_ref[0].resubscribe()
                hub_ref[0].broadcast({"type": "status", "status": "ok", "timestamp": now_ms()})

        parts.bus = Bus(settings.nats_url, name="gateway", on_down=bus_down, on_up=bus_up)
        hub_ref.append(Hub(parts.bus))
        app.state.hub, app.state.ws_connections = hub_ref[0], 0
        app.state.ws_sweeper = ws.Sweeper(settings.ws)
        app.state.ws_sweeper.start()
        await parts.bus.start()
        parts.mongo = open_mongo(settings.mongo_url)
        parts.openapi = OpenApiMerger(parts.services)
        proxy.services, proxy.cache = parts.services, parts.cache
        # Everything allocated so far lives as long as the process: keep it out of every GC pass, and
        # collect the young generation less often (a request makes short-lived containers, not cycles).
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)
        try:
            yield
        finally:
            await app.state.ws_sweeper.stop()
            await parts.bus.close()
            await parts.mongo.close()
            await parts.cache.close()
            await parts.services.close()

    app = create_service_app(title="Dreammaker Crypto API", version="0.1.0", lifespan=lifespan, middleware=False,
                             description="One place for crypto market data, news, AI analysis, on-chain "
                                         "activity and live streams.",
                             openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/health", summary="Status of every service and dependency")
    async def get_health() -> JsonResponse:
        body = await health.report(services=parts.services, cache=parts.cache, bus=parts.bus, mongo=parts.mongo)
        return JsonResponse({"success": body["status"] != "down", "timestamp": now_ms(), **body},
                            status_code=http_status(body["status"]))

    @app.get("/openapi.json", include_in_schema=False)
    async def get_openapi() -> JsonResponse:
        return JsonResponse(await parts.openapi.document(app.openapi()))

    @app.get("/docs", include_in_schema=False)
    async def get_docs():
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Dreammaker Crypto API",
                                   swagger_js_url="/docs/assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs/assets/swagger-ui.css",
                                   swagger_favicon_url="/docs/assets/favicon-32x32.png")

    # Swagger UI's own files, served by the gateway: the docs page needs no CDN.
    app.mount("/docs/assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    app.include_router(ws.router)
    proxy = ApiProxy(app, ttl=settings.ttl, edge=Edge(cors_origins=settings.cors_origins))
    return proxy
