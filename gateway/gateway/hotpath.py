"""Cache hits answered inside the HTTP parser: uvicorn's httptools protocol, with fresh /api answers
from the in-process cache tier written straight to the socket.

A hit is most of the gateway's traffic, and the gateway's own work on one (route, cache key, relabel,
request id, metrics) is ~10 µs; the ASGI machinery around it (a request cycle, a task, two send events
and their checks) costs more than that. This protocol asks `ApiProxy.plan_hot` for the request's plan (its
cache key, caller, quotas, the header lines that do not change) once its headers are parsed and, when the
in-process tier holds a fresh value, writes the same bytes and headers the ASGI path would. Each
connection keeps its last plan: a client repeating a request (same URL and headers, API keys unchanged)
goes straight to the cache. Everything else goes to uvicorn unchanged: misses and stale values, errors, other paths and
methods, requests with a body, HTTP/1.0 or `Connection: close`, requests pipelined behind one still in
progress, a paused transport, websocket upgrades.

A hit counts against its caller's rate limit like any request (gateway.access): mostly a place taken from
this replica's lease (gateway.limiter), else a Redis round trip shared with every other check of the same
event-loop turn, and while that is under way the connection holds its place as uvicorn's own request cycle
would (a request pipelined behind it waits). A refused hit is the same 429 envelope the ASGI path answers.
Requests with a credential that is not valid, from a token, or for a route that needs a scope take the ASGI
path.

It also answers what HTTP itself cannot read in the suite's envelope instead of uvicorn's plain text: a
request line over GATEWAY_MAX_URL_BYTES (414), headers over GATEWAY_MAX_HEADER_BYTES (431), anything else
malformed (400), headers not all sent within GATEWAY_HEADER_TIMEOUT_SECONDS of the connection or of the
request's first byte (408: a client trickling its headers holds nothing for long), each followed by
closing the connection.

    uvicorn gateway.main:create_app --factory --http gateway.hotpath:HotPathProtocol
    (or UVICORN_HTTP=gateway.hotpath:HotPathProtocol)
"""

import asyncio
import base64
import binascii
import logging
import time
from urllib.parse import unquote

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from dm_shared.envelope import error_body
from dm_shared.errors import ApiError, BadRequestError, HeadersTooLargeError, RequestTimeoutError, UriTooLongError

from gateway.limiter import Decision
from gateway.metrics import HOT_ANSWERS
from gateway.proxy import ApiProxy, HotPlan, header_lines
from gateway.settings import get_settings

log = logging.getLogger("gateway.hotpath")
_BODY_HEADERS = (b"content-length", b"transfer-encoding")
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_OK = STATUS_LINE[200]
_server_lines: list = [None, b""]  # the server's default headers, and their lines


def _handshake_problem(headers: list[tuple[bytes, bytes]]) -> str | None:
    """What makes a websocket upgrade request invalid (RFC 6455 §4.2.1), if anything."""
    found = dict(headers)
    key = found.get(b"sec-websocket-key", b"")
    try:
        valid_key = len(base64.b64decode(key, validate=True)) == 16
    except (binascii.Error, ValueError):
        valid_key = False
    if not valid_key:
        return "Sec-WebSocket-Key must be 16 bytes in base64"
    if found.get(b"sec-websocket-version") != b"13":
        return "Sec-WebSocket-Version must be 13"
    return None


class _NoEvent:
    @staticmethod
    def set() -> None:
        pass


class _Waiting:
    """Stands in for uvicorn's request cycle while a hit waits for its rate-limit check: uvicorn queues a
    request pipelined behind it, and a lost connection marks it, as for its own cycles."""

    message_event = _NoEvent  # nothing waits on it: a lost connection only marks the cycle

    def __init__(self):
        self.response_complete = False
        self.keep_alive = True
        self.disconnected = False


def _find_proxy(app) -> ApiProxy | None:
    """The gateway's ApiProxy under whatever uvicorn wrapped around it (proxy headers, message logger)."""
    for _ in range(8):
        if isinstance(app, ApiProxy):
            return app
        app = getattr(app, "app", None)
    return None


class HotPathProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering fresh cache hits of the /api routes in the parser callback."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        plain = not self.root_path and self.limit_concurrency is None
        self.proxy = _find_proxy(self.app) if plain else None
        self.plan: HotPlan | None = None
        self.answered = False
        settings = get_settings()
        self.max_url, self.max_headers = settings.max_url_bytes, settings.max_header_bytes
        self.header_bytes = 0
        self.refused: ApiError | None = None
        self.header_timeout = settings.header_timeout_seconds
        self.header_timer: asyncio.TimerHandle | None = None
        self.begun = False

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.answered = False
        self.header_bytes = 0
        self.begun = True

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Headers still incomplete after what arrived (most requests come whole): their clock starts.
        if self.begun and self.header_timer is None and not self.transport.is_closing():
            self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        if self.header_timeout > 0:
            self.header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _disarm_header_timer(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _headers_late(self) -> None:
        """No complete request line and headers in time: 408 if a request had begun, then close."""
        self.header_timer = None
        if self.transport.is_closing():
            return
        if self.begun:
            self.refused = RequestTimeoutError(details={"timeout_seconds": self.header_timeout})
            self.send_400_response("headers not sent in time")
        else:
            self.transport.close()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.max_url:
            self.refused = UriTooLongError(details={"limit_bytes": self.max_url})
            raise ValueError("request line too long")  # stops the parser: send_400_response answers

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self.header_bytes += len(name) + len(value)
        if self.header_bytes > self.max_headers:
            self.refused = HeadersTooLargeError(details={"limit_bytes": self.max_headers})
            raise ValueError("headers too large")

    def send_400_response(self, msg: str) -> None:
        """What the parser could not read, answered in the envelope (400, or 414/431 when too large); close."""
        error = self.refused or BadRequestError("The request is not valid HTTP")
        body = orjson.dumps(error_body(error.code, error.message, error.details))
        headers = [*self.server_state.default_headers, _NOSNIFF,
                   *((k.lower().encode(), v.encode()) for k, v in error.response_headers().items()),
                   (b"content-type", b"application/json"), (b"content-length", b"%d" % len(body)),
                   (b"connection", b"close")]
        self.transport.write(b"".join((STATUS_LINE[error.status], header_lines(headers), b"\r\n", body)))
        self.transport.close()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        self.begun = False
        started = time.perf_counter()
        plan = fresh = None
        if self.proxy is not None:
            try:
                plan = self._hit()
                fresh = plan.fresh() if plan is not None else None
            except Exception:  # the application answers instead (an error there is an envelope)
                log.exception("cache hit path failed")
        if fresh is None:
            super().on_headers_complete()
            return
        self.answered = True
        body, age = fresh
        limiter = plan.limiter
        decision = limiter.leased(plan.quotas) if limiter is not None else None
        if limiter is None or decision is not None:  # no limit, or a place in this replica's lease
            self._write_hit(plan, body, plan.head(body, age, decision), started)
            return
        waiting = self.cycle = _Waiting()
        limiter.check_then(plan.quotas, lambda decision: self._write_when_decided(waiting, plan, body, age, decision,
                                                                                  started))

    def _write_when_decided(self, waiting: "_Waiting", plan: HotPlan, body: bytes, age: int, decision: Decision,
                            started: float) -> None:
        waiting.response_complete = True
        if self.transport.is_closing():
            return
        if decision.allowed:
            self._write_hit(plan, body, plan.head(body, age, decision), started)
            return
        status, body, headers = plan.refused(decision)
        self._send(status, b"".join((STATUS_LINE[status], self._server_lines(), header_lines(headers), b"\r\n")),
                   body)
        plan.record(status, started)

    def _write_hit(self, plan: HotPlan, body: bytes, lines: bytes, started: float) -> None:
        self._send(200, b"".join((_OK, self._server_lines(), lines, b"\r\n")), body)
        HOT_ANSWERS.inc()
        plan.record(200, started)

    def _server_lines(self) -> bytes:
        """The server's own header lines (the date), rendered once per second."""
        default = self.server_state.default_headers
        if _server_lines[0] is not default:
            _server_lines[:] = default, header_lines(default)
        return _server_lines[1]

    def _send(self, status: int, head: bytes, body: bytes) -> None:
        """Write a head (ending with its blank line) and a body: two writes, no join of the body, which the
        event loop sends in one writev without copying it."""
        self.transport.write(head)
        self.transport.write(body)
        if self.access_log:
            self.access_logger.info('%s:%d - "GET %s HTTP/1.1" %d', *(self.client or ("-", 0)),
                                    self.url.decode("latin-1"), status)
        self.on_response_complete()  # counts it, arms the keep-alive timer, starts a pipelined request

    def handle_websocket_upgrade(self) -> None:
        """A websocket handshake uvicorn would refuse in plain text is refused in the envelope instead."""
        problem = _handshake_problem(self.headers)
        if problem is None:
            super().handle_websocket_upgrade()
            return
        self.refused = BadRequestError("Not a valid websocket handshake", details={"problem": problem},
                                       headers={"Sec-WebSocket-Version": "13"})
        self.send_400_response(problem)

    def on_body(self, body: bytes) -> None:
        if not self.answered:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self.answered:
            super().on_message_complete()

    def _hit(self) -> HotPlan | None:
        """The plan of a GET the hit path may answer (this connection's last one when the request is the same
        again); else None."""
        parser = self.parser
        if (parser.get_method() != b"GET" or parser.get_http_version() != "1.1" or not parser.should_keep_alive()
                or parser.should_upgrade() or self.pipeline or self.flow.write_paused
                or (self.cycle is not None and not self.cycle.response_complete)):
            return None
        plan = self.plan
        if plan is None or not plan.holds(self.url, self.headers):
            plan = self.plan = self._plan()
        return plan if plan.key is not None else None

    def _plan(self) -> HotPlan:
        plan = self.proxy.plan_hot(self._scope()) if self._bodiless() else self.proxy.not_hot()
        plan.url, plan.headers = self.url, self.headers
        return plan

    def _bodiless(self) -> bool:
        return not any(name in _BODY_HEADERS for name, _ in self.headers)

    def _scope(self) -> dict:
        url = httptools.parse_url(self.url)
        try:
            path = url.path.decode("ascii")
        except UnicodeDecodeError:
            path = "/"  # routes are ASCII: no route matches, and the ASGI path answers
        if "%" in path:
            path = unquote(path)
        return {"type": "http", "method": "GET", "path": path, "query_string": url.query or b"",
                "headers": self.headers, "client": self.client}
