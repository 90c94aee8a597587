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
    ValidationFailedError,
)
from dm_shared.logs import request_id

from gateway.access import Access, AccessMiddleware, limited
from gateway.limiter import Decision, Limiter, Quota
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


class HotAnswer:
    """A cache hit for the parser's path: `finish` gives the response once the rate-limit decision on
    `quotas` is in (from `limiter`; None: no limit applies)."""

    __slots__ = ("finish", "limiter", "quotas")

    def __init__(self, finish: Callable[[Decision | None], Response], limiter: Limiter | None = None,
                 quotas: tuple[Quota, ...] = ()):
        self.finish, self.limiter, self.quotas = finish, limiter, quotas


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

    def answer_hot(self, scope: Scope) -> HotAnswer | None:
        """The answer of a GET of an open route whose fresh value is in the in-process tier, from a caller
        known without a round trip; else None (nothing done).

        For the HTTP protocol's hit path (gateway.hotpath): the same answer, headers, rate limit and metrics
        as `__call__` gives the request.
        """
        route = ROUTER.match(scope["path"])
        if route is None or route.scope is not None:
            return None
        started = time.perf_counter()
        answer = self._hot(route, route.resolve(scope["path"], scope["query_string"])[2])
        if answer is None:
            return None
        access = self._access()
        try:
            caller, credential_error = access.identify(scope["client"][0] if scope["client"] else None,
                                                       scope["headers"])
        except UnknownSigningKey:
            return None
        if credential_error is not None:
            return None  # the ASGI path counts it and answers 401
        scope["dm.route"] = route.path
        edge_headers, _ = self.edge.begin(scope)  # a GET is never a preflight
        _, body, headers = answer
        ignored = route.ignored(scope["query_string"])
        if ignored is not None:
            headers = [*headers, (_IGNORED, ignored)]
        quotas = access.quotas(caller, route.path, route.rate) if access.limiter is not None else ()

        def finish(decision: Decision | None) -> Response:
            if decision is None:
                status, answer_body, answer_headers = 200, body, headers
            else:
                rate_headers = decision.headers(quotas)
                if decision.allowed:
                    status, answer_body, answer_headers = 200, body, [*headers, *rate_headers]
                else:
                    status, answer_body, answer_headers = _error(limited(decision))
                    answer_headers += rate_headers
            self.edge.record(scope, status, started)
            return status, answer_body, _response_headers(answer_body, answer_headers, edge_headers)

        return HotAnswer(finish, access.limiter, quotas) if quotas else HotAnswer(finish)

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
