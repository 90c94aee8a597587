"""What every app does at its edge: request ids, request metrics, CORS and `nosniff`.

CORS is open to the configured origins (`*` by default) for reads and never allows credentials (no
Access-Control-Allow-Credentials, so no cookies ride along); API keys travel in headers a preflight
names.

`Edge` holds the logic once. `EdgeMiddleware` applies it around any ASGI app; a fast path (the
gateway's /api handler) calls it inline instead, because on a cache hit one middleware layer costs
more than the gateway's own work.
"""

import itertools
import os
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dm_shared.errors import DEFAULT_RETRY_SECONDS, RETRY_STATUSES
from dm_shared.logs import request_id
from dm_shared.metrics import REQUESTS, route_label

REQUEST_ID = b"x-request-id"
# Request ids must be unique, not secret: a random per-process prefix and a counter, no syscall per request.
_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count(1)
_SANE_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")
_PREFLIGHT_MAX_AGE = b"600"
# A JSON API's answers are never to be sniffed into something a browser would run.
_NOSNIFF = (b"x-content-type-options", b"nosniff")
# Retry-After of a 429/503/504 that did not say (a /health that is down): every such answer carries one.
_DEFAULT_RETRY = str(int(DEFAULT_RETRY_SECONDS)).encode()


class Edge:
    """Request id (a sane `X-Request-ID` or a new one), CORS headers when origins are set, metrics per route."""

    def __init__(self, *, cors_origins: list[str] | None = None,
                 cors_methods: tuple[str, ...] = ("GET", "POST", "OPTIONS"),
                 cors_expose: tuple[str, ...] = ("x-request-id", "x-cache", "age", "retry-after", "x-ignored-params",
                                                 "ratelimit", "ratelimit-policy", "x-ratelimit-limit",
                                                 "x-ratelimit-remaining", "x-ratelimit-reset")):
        self.origins = {o.encode() for o in cors_origins or ()}
        self.any_origin = b"*" in self.origins
        self.expose = (b"access-control-expose-headers", ", ".join(cors_expose).encode())
        self.methods = (b"access-control-allow-methods", ", ".join(cors_methods).encode())

    def begin(self, scope: Scope) -> tuple[list[tuple[bytes, bytes]], bool]:
        """Headers every response to this request carries, and whether it is a CORS preflight.

        Sets `scope["dm.request_id"]`; the caller sets the logging context.
        """
        rid, headers, preflight = self.parts(scope["headers"])
        rid = rid or new_request_id()
        scope["dm.request_id"] = rid.decode()
        return [(REQUEST_ID, rid), *headers], preflight and len(headers) > 1 and scope.get("method") == "OPTIONS"

    def parts(self, request_headers) -> tuple[bytes | None, list[tuple[bytes, bytes]], bool]:
        """What `begin` reads from a request's headers: the client's sane request id (or None), the headers
        every answer carries besides the request id, and whether it asks a CORS preflight."""
        rid, origin, preflight = None, None, False
        for name, value in request_headers:
            if name == REQUEST_ID and _SANE_ID.match(value):
                rid = value
            elif name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                preflight = True
        headers = [_NOSNIFF]
        if origin is not None and (self.any_origin or origin in self.origins):
            if self.any_origin:
                headers += [(b"access-control-allow-origin", b"*"), self.expose]
            else:
                headers += [(b"access-control-allow-origin", origin), (b"vary", b"Origin"), self.expose]
        return rid, headers, preflight

    async def preflight(self, scope: Scope, send: Send, headers: list[tuple[bytes, bytes]]) -> int:
        """Answer a CORS preflight; returns the status sent."""
        scope["dm.route"] = "preflight"
        allow_headers = dict(scope["headers"]).get(b"access-control-request-headers", b"")
        await send({"type": "http.response.start", "status": 200, "headers": [
            *headers, self.methods, (b"access-control-allow-headers", allow_headers),
            (b"access-control-max-age", _PREFLIGHT_MAX_AGE), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
        return 200

    @staticmethod
    def record(scope: Scope, status: int, started: float) -> None:
        """Count the request and its latency under its route template."""
        REQUESTS.observe(route_label(scope), scope["method"], status, time.perf_counter() - started)


def new_request_id() -> bytes:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}".encode()


class EdgeMiddleware:
    """`Edge` around any ASGI app."""

    def __init__(self, app: ASGIApp, edge: Edge | None = None):
        self.app = app
        self.edge = edge or Edge()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers, preflight = self.edge.begin(scope)
        token = request_id.set(scope["dm.request_id"])
        status = 500
        try:
            if kind == "websocket":
                await self.app(scope, receive, send)
                return
            if preflight:
                status = await self.edge.preflight(scope, send, headers)
                return

            async def send_wrapper(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    message["headers"] = [*message.get("headers", ()), *headers]
                    if status in RETRY_STATUSES and not any(k.lower() == b"retry-after" for k, _ in message["headers"]):
                        message["headers"].append((b"retry-after", _DEFAULT_RETRY))
                await send(message)

            await self.app(scope, receive, send_wrapper)
        finally:
            request_id.reset(token)
            if kind == "http":
                self.edge.record(scope, status, started)
