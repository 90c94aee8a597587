"""CoinMarketCap pro API (pro-api.coinmarketcap.com): the recorded /v1/cryptocurrency/listings/latest page."""

from datetime import UTC, datetime
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from sandbox.fixtures import load_json
from sandbox.history import History
from sandbox.params import int_param
from sandbox.responses import UpstreamError, answer_errors, json_response

LISTINGS = "coinmarketcap/listings_latest_usd_limit100.json"
ERRORS = "coinmarketcap/errors_docs_example.json"
RECORDED_CONVERT = "USD"
DEFAULT_LIMIT, MAX_LIMIT = 100, 5000
# CMC takes the key from this header or, alternatively, from this query parameter.
KEY_HEADER, KEY_PARAM = "X-CMC_PRO_API_KEY", "CMC_PRO_API_KEY"
# The documented sort fields the recording has: field -> (where it lives, is text). "market_cap" is CMC's own
# rank order (the recorded order) and is handled apart.
SORT_FIELDS = {
    "name": ("row", True), "symbol": ("row", True), "date_added": ("row", False),
    "circulating_supply": ("row", False), "total_supply": ("row", False), "max_supply": ("row", False),
    "num_market_pairs": ("row", False), "price": ("quote", False), "volume_24h": ("quote", False),
    "percent_change_1h": ("quote", False), "percent_change_24h": ("quote", False),
    "percent_change_7d": ("quote", False),
}
SORT_DIRS = ("asc", "desc")


def _invalid(name: str) -> UpstreamError:
    # The wording of CMC's documented 400 example (`Invalid value for "id"`), for the parameter at fault.
    return UpstreamError(400, f'Invalid value for "{name}"', 400)


_int = partial(int_param, invalid=_invalid)


def iso_ms(ms: int) -> str:
    """Unix ms as CMC's timestamps: 2018-06-02T22:51:28.209Z."""
    stamp = datetime.fromtimestamp(ms // 1000, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def error_status(error: UpstreamError, now_ms: int) -> dict[str, Any]:
    """CMC's {"status"} error body: the documented example for the HTTP status, stamped now, with the error."""
    example = load_json(ERRORS)[str(error.status)]["status"]
    return {"status": {**example, "timestamp": iso_ms(now_ms), "error_code": error.code, "error_message": error.msg}}


def _sort_value(row: dict[str, Any], field: str) -> Any:
    where, text = SORT_FIELDS[field]
    value = row["quote"][RECORDED_CONVERT][field] if where == "quote" else row[field]
    return value.casefold() if text and value is not None else value


def sort_rows(rows: list[dict[str, Any]], sort: str, descending: bool) -> list[dict[str, Any]]:
    """Rows in the asked order; missing values (null max_supply) last either way, ties in recorded order."""
    if sort == "market_cap":
        return list(rows) if descending else list(reversed(rows))
    present = [r for r in rows if _sort_value(r, sort) is not None]
    missing = [r for r in rows if _sort_value(r, sort) is None]
    return sorted(present, key=lambda r: _sort_value(r, sort), reverse=descending) + missing


def _require_key(request: Request) -> None:
    if not (request.headers.get(KEY_HEADER) or request.query_params.get(KEY_PARAM)):
        raise UpstreamError(1002, "API key missing.", 401)


def _converts(request: Request) -> None:
    q = request.query_params
    if "convert_id" in q:
        raise _invalid("convert_id")
    symbols = q.get("convert", RECORDED_CONVERT).split(",")
    if any(symbol.strip() != RECORDED_CONVERT for symbol in symbols):
        raise _invalid("convert")


def create_app(history: History) -> FastAPI:
    """The CoinMarketCap pro API app."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    answer_errors(app, lambda error: error_status(error, history.now_ms()))

    @app.get("/v1/cryptocurrency/listings/latest")
    async def listings_latest(request: Request) -> Response:
        _require_key(request)
        q = request.query_params
        start, limit = _int(request, "start", 1), _int(request, "limit", DEFAULT_LIMIT)
        if start < 1:
            raise _invalid("start")
        if not 1 <= limit <= MAX_LIMIT:
            raise _invalid("limit")
        _converts(request)
        sort, sort_dir = q.get("sort", "market_cap"), q.get("sort_dir", "desc")
        if sort != "market_cap" and sort not in SORT_FIELDS:
            raise _invalid("sort")
        if sort_dir not in SORT_DIRS:
            raise _invalid("sort_dir")
        listing = load_json(LISTINGS)
        rows = sort_rows(listing["data"], sort, sort_dir == "desc")
        return json_response({"status": listing["status"], "data": rows[start - 1: start - 1 + limit]})

    return app
