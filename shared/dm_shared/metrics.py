"""Prometheus metrics of a service and the pure-ASGI middleware that records request metrics."""

import time

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("dm_http_requests_total", "HTTP requests served", ["route", "method", "status"])
LATENCY = Histogram("dm_http_request_seconds", "HTTP request latency", ["route"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
CACHE_EVENTS = Counter("dm_cache_events_total", "Cache lookups by result", ["result"])
UPSTREAM_CALLS = Counter("dm_upstream_calls_total", "Calls to upstream APIs", ["upstream", "outcome"])
UPSTREAM_LATENCY = Histogram("dm_upstream_call_seconds", "Upstream call latency", ["upstream"])


def route_label(scope: Scope) -> str:
    """The route template a request matched (bounded cardinality), or `unmatched`."""
    route = scope.get("route")
    path = getattr(route, "path", None) or scope.get("dm.route")
    return path or "unmatched"


class MetricsMiddleware:
    """Counts requests and measures latency per route template."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = route_label(scope)
            REQUESTS.labels(route, scope["method"], str(status)).inc()
            LATENCY.labels(route).observe(time.perf_counter() - started)


def metrics_response() -> Response:
    """The Prometheus exposition of this process."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
