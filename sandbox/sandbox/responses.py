"""JSON responses rendered with orjson, compact like the upstreams send them, and the venues' error answers."""

from collections.abc import Callable
from typing import Any

import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response


def json_response(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A compact application/json response."""
    return Response(orjson.dumps(content), status_code=status_code, headers=headers, media_type="application/json")


class UpstreamError(Exception):
    """An error a venue answers with its own code and message at an HTTP status; the app's body shape renders it."""

    def __init__(self, code: int | str | None, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status


ErrorBody = Callable[[UpstreamError], dict[str, Any]]


def code_msg_body(error: UpstreamError) -> dict[str, Any]:
    """The {"code", "msg"} error body of Binance and KuCoin."""
    return {"code": error.code, "msg": error.msg}


def answer_errors(app: FastAPI, body: ErrorBody) -> None:
    """Answer every UpstreamError raised in `app` with `body(error)` at the error's status."""

    async def upstream_error(_: Request, exc: UpstreamError) -> Response:
        return json_response(body(exc), status_code=exc.status)

    app.add_exception_handler(UpstreamError, upstream_error)
