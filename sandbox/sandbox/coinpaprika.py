"""CoinPaprika's free API (api.coinpaprika.com/v1): the recorded /v1/global, served as recorded."""

from typing import Any

from fastapi import FastAPI
from starlette.responses import Response

from sandbox.fixtures import load_json
from sandbox.history import History
from sandbox.responses import UpstreamError, answer_errors, json_response

PREFIX = "/v1"
GLOBAL = "coinpaprika/global.json"


def error_body(error: UpstreamError) -> dict[str, Any]:
    """CoinPaprika's {"error"} body."""
    return {"error": error.msg}


def create_app(history: History) -> FastAPI:
    """The CoinPaprika app. Its one recording is market-wide totals, which the price history cannot give, so it
    is served unchanged (data/README.md, Derived 36)."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    answer_errors(app, error_body)

    @app.get(f"{PREFIX}/global")
    async def global_overview() -> Response:
        return json_response(load_json(GLOBAL))

    return app
