"""Cache hits answered inside the HTTP parser: uvicorn's httptools protocol, with fresh /api answers
from the in-process cache tier written straight to the socket.

A hit is most of the gateway's traffic, and the gateway's own work on one (route, cache key, relabel,
request id, metrics) is ~10 µs; the ASGI machinery around it (a request cycle, a task, two send events
and their checks) costs more than that. This protocol asks `ApiProxy.answer_hot` while the request's
headers are being parsed and, when it has an answer, writes the same bytes and headers the ASGI path
would. Everything else goes to uvicorn unchanged: misses and stale values, errors, other paths and
methods, requests with a body, HTTP/1.0 or `Connection: close`, requests pipelined behind one still in
progress, a paused transport, websocket upgrades.

A hit counts against its caller's rate limit like any request (gateway.access): the check is a Redis
round trip shared with every other check of the same event-loop turn, and while it is under way the
connection holds its place as uvicorn's own request cycle would (a request pipelined behind it waits). A
refused hit is the same 429 envelope the ASGI path answers. Requests with a credential that is not valid, or
for a route that needs a scope, take the ASGI path.

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
from urllib.parse import unquote

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from dm_shared.envelope import error_body
from dm_shared.errors import ApiError, BadRequestError, HeadersTooLargeError, RequestTimeoutError, UriTooLongError

from gateway.limiter import Decision
from gateway.metrics import HOT_ANSWERS
from gateway.proxy import ApiProxy, HotAnswer
from gateway.settings import get_settings

log = logging.getLogger("gateway.hotpath")
_BODY_HEADERS = (b"content-length", b"transfer-encoding")
_NOSNIFF = (b"x-content-type-options", b"nosniff")


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
        head = [STATUS_LINE[error.status]]
        headers = [*self.server_state.default_headers, _NOSNIFF,
                   *((k.lower().encode(), v.encode()) for k, v in error.response_headers().items())]
        for name, value in headers:
            head += (name, b": ", value, b"\r\n")
        head += (b"content-type: application/json\r\ncontent-length: ", b"%d" % len(body),
                 b"\r\nconnection: close\r\n\r\n")
        self.transport.write(b"".join(head) + body)
        self.transport.close()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        self.begun = False
        answer = None
        if self.proxy is not None:
            try:
                answer = self._hit()
            except Exception:  # the application answers instead (an error there is an envelope)
                log.exception("cache hit path failed")
        if answer is None:
            super().on_headers_complete()
            return
        self.answered = True
        limiter = answer.limiter
        decision = limiter.leased(answer.quotas) if limiter is not None else None
        if limiter is None or decision is not None:  # no limit, or a place in this replica's lease
            self._write(answer.finish(decision))
            return
        waiting = self.cycle = _Waiting()
        limiter.check_then(answer.quotas, lambda decision: self._write_when_decided(waiting, answer, decision))

    def _write_when_decided(self, waiting: "_Waiting", answer: HotAnswer, decision: Decision) -> None:
        waiting.response_complete = True
        if self.transport.is_closing():
            return
        self._write(answer.finish(decision))

    def _write(self, response: tuple[int, bytes, list[tuple[bytes, bytes]]]) -> None:
        status, body, headers = response
        head = [STATUS_LINE[status]]
        for name, value in (*self.server_state.default_headers, *headers):
            head += (name, b": ", value, b"\r\n")
        head.append(b"\r\n")
        # Two writes, no join of the body: the event loop sends both in one writev without copying it.
        self.transport.write(b"".join(head))
        self.transport.write(body)
        if status == 200:
            HOT_ANSWERS.inc()
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

    def _hit(self) -> HotAnswer | None:
        """The answer of a GET whose fresh value the in-process tier holds (maybe waiting for its rate-limit
        check); else None."""
        parser = self.parser
        if (parser.get_method() != b"GET" or parser.get_http_version() != "1.1" or not parser.should_keep_alive()
                or parser.should_upgrade() or self.pipeline or self.flow.write_paused
                or (self.cycle is not None and not self.cycle.response_complete)):
            return None
        for name, _ in self.headers:
            if name in _BODY_HEADERS:
                return None
        url = httptools.parse_url(self.url)
        try:
            path = url.path.decode("ascii")
        except UnicodeDecodeError:
            return None
        if "%" in path:
            path = unquote(path)
        scope = {"type": "http", "method": "GET", "path": path, "query_string": url.query or b"",
                 "headers": self.headers, "client": self.client}
        return self.proxy.answer_hot(scope)
