"""Fault injection and request counting, applied in front of every upstream app as one ASGI layer."""

import asyncio
import itertools
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

MODES = ("status", "rate_limit", "delay", "malformed", "refuse", "drop", "silence")
# Modes that act on the listener or on open websocket connections, never on one request.
CONNECTION_MODES = ("refuse", "drop", "silence")
# Modes a websocket handshake can hit (it has no response body to cut in half).
WEBSOCKET_MODES = ("status", "rate_limit", "delay")
# Statuses that always carry Retry-After (Binance sends it with 429 and with the 418 of an IP ban).
RETRY_AFTER_STATUSES = (418, 429)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class Fault:
    """One injected fault; `times` is how many matching requests it still hits (None = until cleared)."""

    id: str
    upstream: str
    mode: str
    path: str | None = None
    status: int = 500
    retry_after: int = 1
    delay: float = 0.0
    times: int | None = None
    # JSON to answer instead of the sandbox's own error object (status and rate_limit modes).
    body: Any = None
    # With a text `body`: send it as it is under this content type (an HTML error page), not as JSON.
    content_type: str | None = None
    # Whether the request set retry_after (then a status fault sends Retry-After whatever the status).
    retry_after_given: bool = field(default=False, repr=False)

    def matches(self, upstream: str, path: str) -> bool:
        """Whether a request to upstream at path falls under this fault."""
        return self.upstream == upstream and (self.path is None or path.startswith(self.path))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view of the fault."""
        view = asdict(self)
        del view["retry_after_given"]
        return view

    def retry_after_header(self) -> list[tuple[bytes, bytes]]:
        """Retry-After for a status fault: always for 418/429, otherwise only when retry_after was given."""
        if self.status in RETRY_AFTER_STATUSES or self.retry_after_given:
            return [(b"retry-after", str(self.retry_after).encode())]
        return []


class FaultStore:
    """Active faults, in the order they were added; the first matching one applies."""

    def __init__(self) -> None:
        self._faults: dict[str, Fault] = {}
        self._ids = itertools.count(1)

    def add(self, **fields: Any) -> Fault:
        """Register a fault and return it with its new id."""
        fault = Fault(id=f"f{next(self._ids)}", **fields)
        self._faults[fault.id] = fault
        return fault

    def remove(self, fault_id: str) -> Fault | None:
        """Drop one fault; None when the id is unknown."""
        return self._faults.pop(fault_id, None)

    def clear(self) -> list[Fault]:
        """Drop every fault and return them."""
        dropped = list(self._faults.values())
        self._faults.clear()
        return dropped

    def list(self) -> list[Fault]:
        """Active faults in order."""
        return list(self._faults.values())

    def refused(self, upstream: str) -> bool:
        """Whether a refuse fault is active for upstream."""
        return any(f.mode == "refuse" and f.upstream == upstream for f in self._faults.values())

    def silenced(self, upstream: str, path: str) -> bool:
        """Whether a silence fault holds the websocket connections of upstream at path."""
        return any(f.mode == "silence" and f.matches(upstream, path) for f in self._faults.values())

    def take(self, upstream: str, path: str, websocket: bool = False) -> Fault | None:
        """The fault that hits this request or websocket handshake, counting the hit (refuse, drop and silence
        act on the listener and on open connections, not here)."""
        for fault in self._faults.values():
            if fault.mode in CONNECTION_MODES or not fault.matches(upstream, path):
                continue
            if websocket and fault.mode not in WEBSOCKET_MODES:
                continue
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    del self._faults[fault.id]
            return fault
        return None


class RequestCounter:
    """Requests that reached each upstream listener, by exact path."""

    def __init__(self) -> None:
        self._counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def hit(self, upstream: str, path: str) -> None:
        """Count one request."""
        self._counts[upstream][path] += 1

    def reset(self) -> None:
        """Forget every count."""
        self._counts.clear()

    def snapshot(self, upstream: str | None = None, path: str | None = None) -> dict[str, Any]:
        """Counts filtered by upstream and path prefix: {"total": N, "by_upstream": {up: {path: n}}}."""
        by_upstream: dict[str, dict[str, int]] = {}
        for name, paths in self._counts.items():
            if upstream is not None and name != upstream:
                continue
            chosen = {p: n for p, n in paths.items() if path is None or p.startswith(path)}
            if chosen:
                by_upstream[name] = dict(sorted(chosen.items()))
        total = sum(n for paths in by_upstream.values() for n in paths.values())
        return {"total": total, "by_upstream": by_upstream}


async def _send_json(send: Send, status: int, body: Any, extra_headers: list[tuple[bytes, bytes]] = (),
                     content_type: str | None = None) -> None:
    raw = content_type is not None and isinstance(body, str)
    payload = body.encode() if raw else orjson.dumps(body)
    kind = content_type.encode() if raw else b"application/json"
    headers = [(b"content-type", kind), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + list(extra_headers)})
    await send({"type": "http.response.body", "body": payload})


async def _send_truncated(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run the app, then answer 200 with the first half of its body (never valid JSON)."""
    start: Message = {}
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    body = b"".join(chunks)
    truncated = body[: len(body) // 2] if len(body) > 1 else b"{"
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(truncated)).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": truncated})


async def _deny_websocket(scope: Scope, receive: Receive, send: Send, status: int, body: Any,
                          extra_headers: list[tuple[bytes, bytes]] = ()) -> None:
    """Refuse a websocket handshake with an HTTP answer (403 without body where the server cannot send one)."""
    await receive()  # websocket.connect
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008})
        return
    payload = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "websocket.http.response.start", "status": status, "headers": headers + list(extra_headers)})
    await send({"type": "websocket.http.response.body", "body": payload})


class FaultLayer:
    """ASGI wrapper for one upstream app: counts every HTTP request and websocket handshake, then applies the
    first matching fault."""

    def __init__(self, app: ASGIApp, upstream: str, faults: FaultStore, counter: RequestCounter) -> None:
        self.app = app
        self.upstream = upstream
        self.faults = faults
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        self.counter.hit(self.upstream, path)
        fault = self.faults.take(self.upstream, path)
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.mode == "status":
            default = {"error": f"sandbox fault {fault.id}: status {fault.status}"}
            await _send_json(send, fault.status, default if fault.body is None else fault.body,
                             fault.retry_after_header(), fault.content_type)
        elif fault.mode == "rate_limit":
            default = {"error": f"sandbox fault {fault.id}: rate limited"}
            await _send_json(send, 429, default if fault.body is None else fault.body,
                             [(b"retry-after", str(fault.retry_after).encode())], fault.content_type)
        elif fault.mode == "delay":
            await asyncio.sleep(fault.delay)
            await self.app(scope, receive, send)
        elif fault.mode == "malformed":
            await _send_truncated(self.app, scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A handshake counts under its path; status and rate_limit refuse it with that HTTP answer, delay holds it."""
        path = scope["path"]
        self.counter.hit(self.upstream, path)
        fault = self.faults.take(self.upstream, path, websocket=True)
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.mode == "status":
            default = {"error": f"sandbox fault {fault.id}: status {fault.status}"}
            await _deny_websocket(scope, receive, send, fault.status, default if fault.body is None else fault.body,
                                  fault.retry_after_header())
        elif fault.mode == "rate_limit":
            default = {"error": f"sandbox fault {fault.id}: rate limited"}
            await _deny_websocket(scope, receive, send, 429, default if fault.body is None else fault.body,
                                  [(b"retry-after", str(fault.retry_after).encode())])
        else:
            await asyncio.sleep(fault.delay)
            await self.app(scope, receive, send)
