"""The /api/* fast path: a pure ASGI handler that serves the route table through the cache."""

import time
from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from dm_shared.cache import Entry
from dm_shared.clock import now_ms
from dm_shared.edge import Edge, EdgeMiddleware
from dm_shared.envelope import error_body
from dm_shared.errors import (
    ApiError,
    GatewayTimeoutError,
    MethodNotAllowedError,
    PayloadTooLargeError,
    ServiceUnavailableError,
)
from dm_shared.logs import request_id

from gateway.registry import ROUTER, Route
from gateway.relabel import relabel
from gateway.services import ServiceResponse
from gateway.state import GatewayState

_JSON = (b"content-type", b"application/json")
_STALE_STATUSES = {502, 503, 504}
_PASSED_HEADERS = ("retry-after",)
_HIT, _MISS, _STALE = ((b"x-cache", state) for state in (b"HIT", b"MISS", b"STALE"))
_AGE_ZERO = (b"age", b"0")
# The largest body a POST route forwards (100 texts of 2,000 characters, JSON-escaped, fit well under it).
MAX_BODY = 1 << 20


async def _read_body(receive: Receive) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise PayloadTooLargeError(details={"max_bytes": MAX_BODY})
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _serve_stale(exc: Exception) -> bool:
    # A stale value may stand in when the service or all its upstreams failed, never for a client error.
    if isinstance(exc, ServiceResponse):
        return exc.status in _STALE_STATUSES
    return isinstance(exc, (ServiceUnavailableError, GatewayTimeoutError))


def _error(exc: ApiError) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    headers = [(k.lower().encode(), v.encode()) for k, v in exc.response_headers().items()]
    return exc.status, orjson.dumps(error_body(exc.code, exc.message, exc.details)), headers


def _passthrough(answer: ServiceResponse) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    if not answer.body.startswith(b'{"success":false'):
        # Not an envelope (a crashed worker's page): never show it to clients.
        return _error(ApiError(details={"service_status": answer.status}))
    headers = [(k.encode(), answer.headers[k].encode()) for k in _PASSED_HEADERS if k in answer.headers]
    return answer.status, answer.body, headers


def _response_headers(body: bytes, headers: list[tuple[bytes, bytes]],
                      edge_headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [_JSON, (b"content-length", b"%d" % len(body)), *headers, *edge_headers]


def _from_cache(entry: Entry, now: int, *, stale: bool,
                reason: str | None = None) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """A cached answer relabelled as served at `now`, with its X-Cache and Age headers."""
    body = relabel(entry, now=now, stale=stale, reason=reason)
    return 200, body, [_STALE if stale else _HIT, (b"age", b"%d" % (entry.age_ms(now) // 1000))]


class ApiProxy:
    """Serves routed paths itself, with the edge work inline, and hands every other request to `app`
    wrapped in the edge middleware."""

    def __init__(self, app: ASGIApp, *, state: GatewayState, ttl: Callable[[str], float], edge: Edge):
        self.app = EdgeMiddleware(app, edge)
        self.edge = edge
        self.ttl = ttl
        self.state = state  # its connections are opened by the lifespan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = ROUTER.match(scope["path"]) if scope["type"] == "http" else None
        if route is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        scope["dm.route"] = route.path
        edge_headers, preflight = self.edge.begin(scope)
        status = 500
        try:
            if preflight:
                status = await self.edge.preflight(scope, send, edge_headers)
                return
            if scope["method"] != route.method:
                status, body, headers = _error(MethodNotAllowedError([route.method]))
            elif route.method == "POST":
                status, body, headers = await self._forward(route, receive, scope["dm.request_id"])
            else:
                path, query = scope["path"], route.canonical_query(scope["query_string"])
                key = f"{path}?{query}"
                answer = self._hot(route, key)
                status, body, headers = answer or await self._serve(
                    route, route.target_for(path), query, key, scope["dm.request_id"])
            await send({"type": "http.response.start", "status": status,
                        "headers": _response_headers(body, headers, edge_headers)})
            await send({"type": "http.response.body", "body": body})
        finally:
            self.edge.record(scope, status, started)

    async def _forward(self, route: Route, receive: Receive, rid: str) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """A POST route: its body to the owning service, the answer back as it is (never cached)."""
        token = request_id.set(rid)
        try:
            payload = await _read_body(receive)
            response = await self.state.services.send("POST", ROUTER.owner[route], route.target, body=payload,
                                                      request_id=rid)
        except ApiError as exc:
            return _error(exc)
        finally:
            request_id.reset(token)
        if response.status_code == 200:
            return 200, response.content, []
        return _passthrough(ServiceResponse(response.status_code, response.content, dict(response.headers)))

    def answer_hot(self, scope: Scope) -> tuple[bytes, list[tuple[bytes, bytes]]] | None:
        """Body and headers of a GET whose fresh answer is in the in-process tier, else None (nothing done).

        For the HTTP protocol's hit path (gateway.hotpath): the same answer, headers and metrics as
        `__call__` gives the request.
        """
        route = ROUTER.match(scope["path"])
        if route is None:
            return None
        started = time.perf_counter()
        answer = self._hot(route, f"{scope['path']}?{route.canonical_query(scope['query_string'])}")
        if answer is None:
            return None
        scope["dm.route"] = route.path
        edge_headers, _ = self.edge.begin(scope)  # a GET is never a preflight
        status, body, headers = answer
        self.edge.record(scope, status, started)
        return body, _response_headers(body, headers, edge_headers)

    def _hot(self, route: Route, key: str) -> tuple[int, bytes, list[tuple[bytes, bytes]]] | None:
        """A fresh answer from the in-process cache tier, with no await on the way (the common case)."""
        now = now_ms()
        entry = self.state.cache.peek(key, now) if route.cache is not None else None
        if entry is None:
            return None
        return _from_cache(entry, now, stale=False)

    async def _serve(self, route: Route, target: str, query: str, key: str,
                     rid: str) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """Through the shared cache (single-flight, stale on failure) to the owning service."""

        async def fetch() -> bytes:
            response = await self.state.services.get(ROUTER.owner[route], target, query, request_id=rid)
            if response.status_code != 200:
                raise ServiceResponse(response.status_code, response.content, dict(response.headers))
            return response.content

        token = request_id.set(rid)  # logs from here on carry the request id
        try:
            if route.cache is None:
                return 200, await fetch(), []
            lookup = await self.state.cache.get_or_fetch(key, self.ttl(route.cache), fetch, _serve_stale)
        except ServiceResponse as answer:
            return _passthrough(answer)
        except ApiError as exc:
            return _error(exc)
        finally:
            request_id.reset(token)
        if not lookup.hit:
            return 200, lookup.entry.body, [_MISS, _AGE_ZERO]
        return _from_cache(lookup.entry, now_ms(), stale=lookup.stale, reason=getattr(lookup.error, "code", None))
