"""JSON responses rendered with orjson, compact like the upstreams send them."""

from typing import Any

import orjson
from starlette.responses import Response


def json_response(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A compact application/json response."""
    return Response(orjson.dumps(content), status_code=status_code, headers=headers, media_type="application/json")
