"""Query parameters read the way every venue reads them; each venue words its own error for a bad value."""

from collections.abc import Callable

from starlette.requests import Request


def int_param(request: Request, name: str, default: int | None = None, *,
              invalid: Callable[[str], Exception]) -> int | None:
    """Query parameter `name` as an int, `default` when it is absent or empty; `invalid(name)` is raised otherwise."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise invalid(name) from None
