"""Cache hits answered inside the HTTP parser: uvicorn's httptools protocol, with fresh /api answers
from the in-process cache tier written straight to the socket.

A hit is most of the gateway's traffic, and the gateway's own work on one (route, cache key, relabel,
request id, metrics) is ~10 µs; the ASGI machinery around it (a request cycle, a task, two send events
and their checks) costs more than that. This protocol asks `ApiProxy.answer_hot` while the request's
headers are being parsed and, when it has an answer, writes the same bytes and headers the ASGI path
would. Everything else goes to uvicorn unchanged: misses and stale values, errors, other paths and
methods, requests with a body, HTTP/1.0 or `Connection: close`, requests pipelined behind one still in
progress, a paused transport, websocket upgrades.

It also answers what HTTP itself cannot read in the suite's envelope instead of uvicorn's plain text: a
request line over GATEWAY_MAX_URL_BYTES (414), headers over GATEWAY_MAX_HEADER_BYTES (431), anything else
malformed (400), each followed by closing the connection.

    uvicorn gateway.main:create_app --factory --http gateway.hotpath:HotPathProtocol
    (or UVICORN_HTTP=gateway.hotpath:HotPathProtocol)
"""

import logging
from urllib.parse import unquote

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from dm_shared.envelope import error_body
from dm_shared.errors import ApiError, BadRequestError, HeadersTooLargeError, UriTooLongError

from gateway.proxy import ApiProxy
from gateway.settings import get_settings

log = logging.getLogger("gateway.hotpath")
_OK = STATUS_LINE[200]
_BODY_HEADERS = (b"content-length", b"transfer-encoding")


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

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.answered = False
        self.header_bytes = 0

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
        for name, value in self.server_state.default_headers:
            head += (name, b": ", value, b"\r\n")
        head += (b"content-type: application/json\r\ncontent-length: ", b"%d" % len(body),
                 b"\r\nconnection: close\r\n\r\n")
        self.transport.write(b"".join(head) + body)
        self.transport.close()

    def on_headers_complete(self) -> None:
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
        head, body = answer
        # Two writes, no join: the event loop sends both in one writev without copying the body.
        self.transport.write(head)
        self.transport.write(body)
        if self.access_log:
            self.access_logger.info('%s:%d - "GET %s HTTP/1.1" 200', *(self.client or ("-", 0)),
                                    self.url.decode("latin-1"))
        self.on_response_complete()  # counts it, arms the keep-alive timer

    def on_body(self, body: bytes) -> None:
        if not self.answered:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self.answered:
            super().on_message_complete()

    def _hit(self) -> tuple[bytes, bytes] | None:
        """Status line and headers, and body, if the in-process tier has the answer fresh; else None."""
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
        answer = self.proxy.answer_hot(scope)
        if answer is None:
            return None
        body, headers = answer
        head = [_OK]
        for name, value in (*self.server_state.default_headers, *headers):
            head += (name, b": ", value, b"\r\n")
        head.append(b"\r\n")
        return b"".join(head), body
