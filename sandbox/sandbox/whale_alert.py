"""Whale Alert API v1 (api.whale-alert.io/v1): the recorded /transactions page, time-shifted so its newest
transaction is now, and /status; a key is required as on the live API."""

import time
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from sandbox.fixtures import load_json
from sandbox.history import History
from sandbox.responses import json_response

TRANSACTIONS = "whale_alert/v1_transactions.json"
STATUS = "whale_alert/v1_status_2023-03.json"
UNAUTHORIZED = "whale_alert/v1_status_error_401_invalid_api_key.json"
KEY_HEADER, KEY_PARAM = "X-WA-API-KEY", "api_key"


def shifted(now_s: int) -> list[dict[str, Any]]:
    """The recorded transactions moved by whole seconds so the newest is at `now_s`."""
    rows = load_json(TRANSACTIONS)["transactions"]
    shift = now_s - max(row["timestamp"] for row in rows)
    return [{**row, "timestamp": row["timestamp"] + shift} for row in rows]


def _number(raw: str | None, default: float) -> float | None:
    try:
        return float(raw) if raw not in (None, "") else default
    except ValueError:
        return None


def create_app(history: History) -> FastAPI:
    """The Whale Alert app."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    def keyed(request: Request) -> bool:
        return bool(request.headers.get(KEY_HEADER) or request.query_params.get(KEY_PARAM))

    @app.get("/v1/status")
    async def status(request: Request) -> Response:
        return json_response(load_json(STATUS)) if keyed(request) else json_response(load_json(UNAUTHORIZED), 401)

    @app.get("/v1/transactions")
    async def transactions(request: Request) -> Response:
        if not keyed(request):
            return json_response(load_json(UNAUTHORIZED), 401)
        q = request.query_params
        now = int(time.time())
        start, min_value, limit = _number(q.get("start"), now - 3600), _number(q.get("min_value"), 500_000), \
            _number(q.get("limit"), 100)
        for name, value in (("start", start), ("min_value", min_value), ("limit", limit)):
            if value is None or (name == "limit" and not 1 <= value <= 100):
                # The wording of Whale Alert's recorded 400s ("invalid value for hash parameter").
                return json_response({"result": "error", "message": f"invalid value for {name} parameter"}, 400)
        rows = [r for r in shifted(now) if r["timestamp"] >= start and r["amount_usd"] >= min_value][:int(limit)]
        if not rows:
            return json_response({"result": "success", "cursor": "0-0-0", "count": 0})
        return json_response({"result": "success", "cursor": load_json(TRANSACTIONS)["cursor"], "count": len(rows),
                              "transactions": rows})

    return app
