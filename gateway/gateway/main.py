"""The gateway: app factory and lifespan."""

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp
from swagger_ui_bundle import swagger_ui_path

from dm_shared.app import create_service_app
from dm_shared.clock import now_ms
from dm_shared.edge import Edge
from dm_shared.envelope import JsonResponse
from dm_shared.health import DOWN, http_status
from dm_shared.logs import configure_logging
from dm_shared.schemas import GatewayHealth

from gateway import admin, health, ws
from gateway.proxy import ApiProxy
from gateway.settings import get_settings
from gateway.state import GatewayState


def create_app() -> ASGIApp:
    """The gateway ASGI app: the /api fast path, then FastAPI (behind the edge middleware) for the rest."""
    settings = get_settings()
    state = GatewayState(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        configure_logging("gateway", settings.log_level)
        await state.open()
        try:
            yield
        finally:
            await state.close()

    app = create_service_app(title="Dreammaker Crypto API", version=health.VERSION, lifespan=lifespan,
                             middleware=False, openapi_url=None, docs_url=None, redoc_url=None,
                             description="One place for crypto market data, news, AI analysis, on-chain "
                                         "activity and live streams.")
    app.state.gateway = state

    @app.get("/health", summary="Status of the suite; every service and dependency for admins and internal "
                                 "addresses", responses={200: {"model": GatewayHealth}, 503: {"model": GatewayHealth}})
    @app.get("/api/health", summary="The same as /health, under /api",
             responses={200: {"model": GatewayHealth}, 503: {"model": GatewayHealth}})
    async def get_health(request: Request) -> JsonResponse:
        body = await health.report(services=state.services, cache=state.cache, bus=state.bus, mongo=state.mongo)
        if not state.access.sees_internals(request.scope["dm.caller"]):
            del body["components"]  # which parts exist and where they run is for operators
        return JsonResponse({"success": body["status"] != DOWN, "timestamp": now_ms(), **body},
                            status_code=http_status(body["status"]))

    @app.get("/openapi.json", include_in_schema=False)
    async def get_openapi() -> JsonResponse:
        return JsonResponse(await state.openapi.document(app.openapi()))

    @app.get("/docs", include_in_schema=False)
    async def get_docs():
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Dreammaker Crypto API",
                                   swagger_js_url="/docs/assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs/assets/swagger-ui.css",
                                   swagger_favicon_url="/docs/assets/favicon-32x32.png")

    # Swagger UI's own files, served by the gateway: the docs page needs no CDN.
    app.mount("/docs/assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    app.include_router(ws.router)
    app.include_router(admin.router)
    return ApiProxy(app, state=state, ttl=settings.ttl, edge=Edge(cors_origins=settings.cors_origins),
                    access=lambda: state.access)
