"""Etherscan API V2 (`/v2/api?chainid=...`) and a second Etherscan-compatible explorer with the chain id in
its path (Routescan's `/v2/network/mainnet/evm/{chainid}/etherscan/api`), from the recordings: address
history, token transfers and the proxy module's blocks (mined on command, see chainstate)."""

from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from sandbox.chainstate import ChainState
from sandbox.fixtures import load_json
from sandbox.history import History
from sandbox.responses import json_response

ERRORS = "etherscan/errors_docs_example.json"
NO_TRANSACTIONS = "etherscan/v2_account_txlist_no_transactions_found.json"
# (chain id, lower-case address) -> recording, per action; the recordings are in ascending order.
TXLIST = {
    (1, "0xa1e4380a3b1f749673e270229993ee55f35663b4"): "etherscan/v2_account_txlist_chainid1_136txs.json",
    (137, "0xc37b40abdb939635068d3c5f13e7faf686f03b65"): "etherscan/v2_account_txlist_chainid137_polygon_1tx.json"}
TOKENTX = {(1, "0xb8553d9ee35dd23bb96fbd679e651b929821969b"): "etherscan/v2_account_tokentx_chainid1_5txs.json"}
BSC_FREE_TIER = "etherscan/v2_account_txlist_chainid56_bsc_NOTOK_free_tier.json"
BSC_PROXY = "etherscan/v2_proxy_eth_getBlockByNumber_chainid56_NOTOK_temporarily_unavailable.json"
BLOCK_NUMBER = "etherscan/v2_proxy_eth_blockNumber_chainid1.json"
CHAIN_IDS = (1, 56, 137)
MAX_WINDOW = 10_000


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw not in (None, "") else default
    except ValueError:
        return -1


def page_of(rows: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any] | None:
    """The rows of `page` (1-based) of `offset` rows in `sort` order, as Etherscan pages; None if out of range."""
    page, size = _int(query.get("page"), 1), _int(query.get("offset"), MAX_WINDOW)
    if page < 1 or size < 1 or page * size > MAX_WINDOW:
        return None
    ordered = list(reversed(rows)) if query.get("sort") == "desc" else list(rows)
    return ordered[(page - 1) * size: page * size]


def answer(chain_id: int, query: dict[str, str], chain: ChainState, *, keyed_chains: bool) -> dict[str, Any]:
    """What the explorer answers for one call (module, action and their parameters)."""
    errors = load_json(ERRORS)
    if chain_id not in CHAIN_IDS or (chain_id == 56 and not keyed_chains):
        return errors["unsupported_chain"]
    module, action = query.get("module"), query.get("action")
    if module == "account" and action in ("txlist", "tokentx"):
        if chain_id == 56:
            return load_json(BSC_FREE_TIER)
        table = TXLIST if action == "txlist" else TOKENTX
        recording = table.get((chain_id, str(query.get("address", "")).lower()))
        if recording is None:
            return load_json(NO_TRANSACTIONS)
        body = load_json(recording)
        rows = page_of(body["result"], query)
        if rows is None:
            return {"status": "0", "message": "NOTOK", "result": "Result window is too large, PageNo x Offset size "
                                                                   "must be less than or equal to 10000"}
        return {**body, "result": rows} if rows else load_json(NO_TRANSACTIONS)
    if module == "proxy" and action in ("eth_blockNumber", "eth_getBlockByNumber"):
        if chain_id == 56:
            return load_json(BSC_PROXY)
        if action == "eth_blockNumber":
            return {**load_json(BLOCK_NUMBER), "result": hex(chain.head) if chain_id == 1 else "0x0"}
        try:
            number = int(query.get("tag", ""), 16)
        except ValueError:
            number = -1
        block = chain.block(number) if chain_id == 1 else None
        return {"jsonrpc": "2.0", "id": 1, "result": block}
    return {"status": "0", "message": "NOTOK", "result": "Error! Missing Or invalid Action name"}


def create_app(history: History, *, chain: ChainState, path_chain_id: bool = False) -> FastAPI:
    """Etherscan V2 (`path_chain_id=False`: chain id as a parameter, key required), or the second explorer
    (chain id in the path, no key needed)."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    if path_chain_id:
        @app.get("/v2/network/mainnet/evm/{chain_id}/etherscan/api")
        async def routescan(chain_id: str, request: Request) -> Response:
            query = dict(request.query_params)
            chain.calls[f"etherscan_fallback:{query.get('module')}.{query.get('action')}"] += 1
            return json_response(answer(_int(chain_id, -1), query, chain, keyed_chains=False))
        return app

    @app.get("/v2/api")
    async def etherscan(request: Request) -> Response:
        query = dict(request.query_params)
        chain.calls[f"etherscan:{query.get('module')}.{query.get('action')}"] += 1
        if not query.get("apikey"):
            return json_response(load_json(ERRORS)["missing_or_invalid_api_key"])
        return json_response(answer(_int(query.get("chainid"), -1), query, chain, keyed_chains=True))

    return app
