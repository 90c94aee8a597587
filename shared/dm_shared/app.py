"""The app factory every service uses: envelope errors, request ids, metrics, /healthz and /metrics."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI
from starlette.types import ASGIApp

from dm_shared.envelope import JsonResponse, install_error_handlers
from dm_shared.metrics import MetricsMiddleware, metrics_response
from dm_shared.requestid import RequestIdMiddleware


def create_service_app(*, title: str, version: str, description: str,
                       lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
                       middleware: bool = True, **fastapi_options) -> FastAPI:
    """A FastAPI app with the suite's cross-cutting behaviour installed.

    `middleware=False` leaves request ids and metrics to the caller, who wraps the app with
    `with_common_middleware` (the gateway does, so its fast path is measured too).
    """
    app = FastAPI(title=title, version=version, description=description, lifespan=lifespan,
                  default_response_class=JsonResponse, **fastapi_options)
    install_error_handlers(app)
    if middleware:
        app.add_middleware(MetricsMiddleware)
        app.add_middleware(RequestIdMiddleware)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    async def metrics():
        """Prometheus metrics of this process."""
        return metrics_response()

    return app


def with_common_middleware(app: ASGIApp) -> ASGIApp:
    """`app` wrapped with metrics (inner) and request ids (outer)."""
    return RequestIdMiddleware(MetricsMiddleware(app))
