"""The one place that renders responses: success bodies and the spec's error envelope."""

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

from dm_shared.clock import now_ms
from dm_shared.errors import ApiError, MethodNotAllowedError, NotFoundError, ValidationFailedError

log = logging.getLogger("dm.errors")


class JsonResponse(JSONResponse):
    """JSON response rendered with orjson (fast, and it refuses NaN by rendering null).

    A JSONResponse subclass, so FastAPI documents a route's body with its response model alone."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def success(**fields: Any) -> dict[str, Any]:
    """A success body: `success` and `timestamp` first, then the endpoint's fields."""
    return {"success": True, "timestamp": now_ms(), **fields}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The spec's error envelope."""
    return {"success": False, "error": {"code": code, "message": message, "details": details or {}},
            "timestamp": now_ms()}


def error_response(exc: ApiError) -> JsonResponse:
    """Render an ApiError as its envelope with its status and headers."""
    return JsonResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status,
                        headers=exc.response_headers())


def _validation_details(exc: RequestValidationError) -> dict[str, Any]:
    errors = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if part not in ("query", "path", "body")]
        # The offending input is echoed only when short: a client's junk must not be reflected at length.
        value = err.get("input")
        entry = {"field": ".".join(loc), "problem": err.get("msg", "invalid")}
        if isinstance(value, (str, int, float)) and len(str(value)) <= 64:
            # An integer JSON allows but the renderer does not (beyond 64 bits) is echoed as text.
            entry["value"] = str(value) if isinstance(value, int) and not -2**63 <= value < 2**64 else value
        errors.append(entry)
    return {"errors": errors}


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _methods_of(request: Request) -> set[str]:
    """Every method some route of the app serves at this request's path (a path with a GET route and a
    POST route allows both, where Starlette names the first route's only)."""
    return {method for method in _METHODS
            if any(route.matches({**request.scope, "method": method})[0] == Match.FULL
                   for route in request.app.router.routes)}


def install_error_handlers(app: FastAPI) -> None:
    """Make every failure of `app` answer in the envelope; only the last handler catches Exception."""

    async def on_api_error(_: Request, exc: ApiError) -> Response:
        return error_response(exc)

    async def on_validation(_: Request, exc: RequestValidationError) -> Response:
        return error_response(ValidationFailedError(details=_validation_details(exc)))

    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_response(NotFoundError("No such endpoint"))
        if exc.status_code == 405:
            allow = {m.strip() for m in (exc.headers or {}).get("Allow", "").split(",") if m.strip()}
            return error_response(MethodNotAllowedError(sorted(allow | _methods_of(request))))
        err = ApiError(str(exc.detail))
        err.status, err.code = exc.status_code, f"HTTP_{exc.status_code}"
        return error_response(err)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(ApiError())

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
