"""The app factory every service uses: envelope errors, request ids, metrics, /healthz and /metrics."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI

from dm_shared.edge import EdgeMiddleware
from dm_shared.envelope import JsonResponse, install_error_handlers
from dm_shared.health import OK
from dm_shared.metrics import metrics_response


def create_service_app(*, title: str, version: str, description: str,
                       lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
                       middleware: bool = True, **fastapi_options) -> FastAPI:
    """A FastAPI app with the suite's cross-cutting behaviour installed.

    `middleware=False` leaves the edge middleware to the caller, who wraps the app with
    `EdgeMiddleware` outside its own layers (the gateway does, around its /api fast path).
    """
    app = FastAPI(title=title, version=version, description=description, lifespan=lifespan,
                  default_response_class=JsonResponse, **fastapi_options)
    install_error_handlers(app)
    if middleware:
        app.add_middleware(EdgeMiddleware)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": OK}

    @app.get("/metrics", include_in_schema=False)
    async def metrics():
        """Prometheus metrics of this process."""
        return metrics_response()

    return app

