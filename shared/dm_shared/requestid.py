"""Request ids: taken from `X-Request-ID` when a caller sends a sane one, else made; echoed back."""

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dm_shared.logs import request_id

HEADER = b"x-request-id"
_SANE = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Sets the request id for logs and the response header."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = next((v for k, v in scope["headers"] if k == HEADER and _SANE.match(v)), None)
        rid = rid or uuid.uuid4().hex.encode()
        scope["dm.request_id"] = rid.decode()
        token = request_id.set(rid.decode())

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (HEADER, rid)]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            request_id.reset(token)
