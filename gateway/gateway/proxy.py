"""The /api/* fast path: a pure ASGI handler that serves the route table through the cache."""

import time
from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from dm_shared.cache import Entry
from dm_shared.clock import now_ms
from dm_shared.edge import REQUEST_ID, Edge, EdgeMiddleware, new_request_id
from dm_shared.envelope import error_body
from dm_shared.errors import (
    ApiError,
    GatewayTimeoutError,
    MethodNotAllowedError,
    PayloadTooLargeError,
    ServiceUnavailableError,
    ValidationFailedError,
)
from dm_shared.logs import request_id
from dm_shared.metrics import REQUESTS

from gateway.access import Access, AccessMiddleware, limited
from gateway.keys import KeyRing
from gateway.limiter import Decision
from gateway.registry import ROUTER, Route
from gateway.relabel import relabel
from gateway.services import ServiceResponse
from gateway.state import GatewayState
from gateway.tokens import UnknownSigningKey

# An answer: status, body, headers.
Response = tuple[int, bytes, list[tuple[bytes, bytes]]]
_JSON = (b"content-type", b"application/json")
_STALE_STATUSES = {502, 503, 504}
_PASSED_HEADERS = ("retry-after",)
_HIT, _MISS, _STALE = ((b"x-cache", state) for state in (b"HIT", b"MISS", b"STALE"))
_AGE_ZERO = (b"age", b"0")
_NO_STORE = (b"cache-control", b"no-store")
# Query parameters a route does not take are ignored, and named here.
_IGNORED = b"x-ignored-params"
# Bodies forwarded to a route that takes one (POST /api/ai/predict); bigger ones are refused unread.
MAX_BODY_BYTES = 65_536


async def read_body(scope: Scope, receive: Receive, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, or PAYLOAD_TOO_LARGE as soon as it (or its declared length) passes `limit`."""
    for name, value in scope["headers"]:
        if name == b"content-length" and not value.isdigit():
            raise ValidationFailedError("Content-Length is not a number")
        if name == b"content-length" and int(value) > limit:
            raise PayloadTooLargeError(details={"max_bytes": limit})
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ValidationFailedError("The client went away before sending its body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(details={"max_bytes": limit})
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _serve_stale(exc: Exception) -> bool:
    # A stale value may stand in when the service or all its upstreams failed, never for a client error.
    if isinstance(exc, ServiceResponse):
        return exc.status in _STALE_STATUSES
    return isinstance(exc, (ServiceUnavailableError, GatewayTimeoutError))


def _error(exc: ApiError) -> Response:
    headers = [(k.lower().encode(), v.encode()) for k, v in exc.response_headers().items()]
    return exc.status, orjson.dumps(error_body(exc.code, exc.message, exc.details)), headers


def _passthrough(answer: ServiceResponse) -> Response:
    if not answer.body.startswith(b'{"success":false'):
        # Not an envelope (a crashed worker's page): never show it to clients.
        return _error(ApiError(details={"service_status": answer.status}))
    headers = [(k.encode(), answer.headers[k].encode()) for k in _PASSED_HEADERS if k in answer.headers]
    return answer.status, answer.body, [*headers, _NO_STORE]


def _response_headers(body: bytes, headers: list[tuple[bytes, bytes]],
                      edge_headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [_JSON, (b"content-length", b"%d" % len(body)), *headers, *edge_headers]


def _from_cache(entry: Entry, now: int, *, stale: bool,
                reason: str | None = None) -> Response:
    """A cached answer relabelled as served at `now`, with its X-Cache and Age headers."""
    body = relabel(entry, now=now, stale=stale, reason=reason)
    return 200, body, [_STALE if stale else _HIT, (b"age", b"%d" % (entry.age_ms(now) // 1000))]


def header_lines(pairs) -> bytes:
    """Header (name, value) pairs as the lines of a raw HTTP/1.1 head."""
    return b"".join(b"%s: %s\r\n" % pair for pair in pairs)


class HotPlan:
    """How to answer one kind of request from the in-process tier, worked out once from its path, query and
    headers: the cache key, the caller's quotas, the headers that do not change. The parser's hit path keeps
    each connection's last plan, so a client repeating a request goes straight to the cache. A plan holds
    while the API keys are unchanged (`generation`); `key` None: this request is not for the hit path."""

    __slots__ = ("cache", "edge", "fixed", "generation", "headers", "key", "label", "limiter", "quotas", "rid",
                 "ring", "url")

    def __init__(self, ring: KeyRing, key: str | None = None):
        self.ring, self.generation, self.key = ring, ring.generation, key
        self.url = self.headers = self.cache = self.limiter = self.rid = None
        self.label, self.quotas, self.edge, self.fixed = "", (), [], b""

    def holds(self, url: bytes, headers: list) -> bool:
        return self.url == url and self.headers == headers and self.ring.generation == self.generation

    def fresh(self) -> tuple[bytes, int] | None:
        """The relabelled body and its age (s), when the in-process tier holds a fresh value."""
        now = now_ms()
        entry = self.cache.peek(self.key, now)
        if entry is None:
            return None
        return relabel(entry, now=now, stale=False), entry.age_ms(now) // 1000

    def head(self, body: bytes, age: int, decision: Decision | None) -> bytes:
        """The header lines of the 200 answer (without the status line and the server's own)."""
        block = self.fixed + b"content-length: %d\r\nage: %d\r\nx-request-id: %s\r\n" % (
            len(body), age, self.rid or new_request_id())
        return block if decision is None else block + decision.header_block(self.quotas)

    def refused(self, decision: Decision) -> Response:
        status, body, headers = _error(limited(decision))
        edge = [(REQUEST_ID, self.rid or new_request_id()), *self.edge]
        return status, body, _response_headers(body, [*headers, *decision.headers(self.quotas)], edge)

    def record(self, status: int, started: float) -> None:
        REQUESTS.observe(self.label, "GET", status, time.perf_counter() - started)


class ApiProxy:
    """Serves routed paths itself, with the edge work inline, and hands every other request to `app`
    wrapped in the edge and access middleware."""

    def __init__(self, app: ASGIApp, *, state: GatewayState, ttl: Callable[[str], float], edge: Edge,
                 access: Callable[[], Access]):
        self.app = EdgeMiddleware(AccessMiddleware(app, access), edge)
        self.edge = edge
        self._access = access
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
            admission = await self._access().admit(scope, route=route.path, needed=route.scope,
                                                   route_rate=route.rate)
            if admission.error is not None:
                status, body, headers = _error(admission.error)
            elif scope["method"] not in route.methods:
                status, body, headers = _error(MethodNotAllowedError(list(route.methods)))
            elif scope["method"] != "GET":
                status, body, headers = await self._forward(route, scope, receive)
            else:
                target, query, key = route.resolve(scope["path"], scope["query_string"])
                answer = self._hot(route, key)
                status, body, headers = answer or await self._serve(route, target, query, key, scope["dm.request_id"])
            ignored = route.ignored(scope["query_string"])
            if ignored is not None:
                headers = [*headers, (_IGNORED, ignored)]
            headers = [*headers, *admission.headers]
            await send({"type": "http.response.start", "status": status,
                        "headers": _response_headers(body, headers, edge_headers)})
            await send({"type": "http.response.body", "body": body})
        finally:
            self.edge.record(scope, status, started)

    def plan_hot(self, scope: Scope) -> HotPlan:
        """The plan of a GET of an open, cached route from a caller known without a round trip (a plan with
        key None for any other request).

        For the HTTP protocol's hit path (gateway.hotpath): the same answer, headers, rate limit and metrics
        as `__call__` gives the request. Token callers are not planned: a token's expiry is checked on every
        request.
        """
        state = self.state
        route = ROUTER.match(scope["path"])
        if route is None or route.scope is not None or route.cache is None:
            return self.not_hot()
        access = self._access()
        try:
            caller, credential_error = access.identify(scope["client"][0] if scope["client"] else None,
                                                       scope["headers"])
        except UnknownSigningKey:
            return self.not_hot()
        if credential_error is not None or caller.policy == "token":
            return self.not_hot()  # the ASGI path counts it (and answers 401)
        plan = HotPlan(state.ring, route.resolve(scope["path"], scope["query_string"])[2])
        plan.cache, plan.label = state.cache, route.path
        plan.rid, plan.edge, _ = self.edge.parts(scope["headers"])  # a GET is never a preflight
        fixed = [_JSON, _HIT, *plan.edge]
        ignored = route.ignored(scope["query_string"])
        if ignored is not None:
            fixed.append((_IGNORED, ignored))
        plan.fixed = header_lines(fixed)
        if access.limiter is not None:
            plan.limiter, plan.quotas = access.limiter, access.quotas(caller, route.path, route.rate)
        return plan

    def not_hot(self) -> HotPlan:
        """The plan of a request the hit path leaves to the ASGI path."""
        return HotPlan(self.state.ring)

    def _hot(self, route: Route, key: str) -> Response | None:
        """A fresh answer from the in-process cache tier, with no await on the way (the common case)."""
        now = now_ms()
        entry = self.state.cache.peek(key, now) if route.cache is not None else None
        if entry is None:
            return None
        return _from_cache(entry, now, stale=False)

    async def _forward(self, route: Route, scope: Scope,
                       receive: Receive) -> Response:
        """A request with a body to the owning service, uncached; its answer as the service gave it."""
        rid = scope["dm.request_id"]
        token = request_id.set(rid)
        try:
            body = await read_body(scope, receive)
            content_type = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"content-type"), None)
            response = await self.state.services.send(
                ROUTER.owner[route], scope["method"], route.target_for(scope["path"]),
                route.canonical_query(scope["query_string"]), body=body, content_type=content_type, request_id=rid)
        except ApiError as exc:
            return _error(exc)
        finally:
            request_id.reset(token)
        if response.status_code != 200:
            return _passthrough(ServiceResponse(response.status_code, response.content, dict(response.headers)))
        return 200, response.content, []

    async def _serve(self, route: Route, target: str, query: str, key: str,
                     rid: str) -> Response:
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
