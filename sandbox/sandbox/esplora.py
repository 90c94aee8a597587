"""mempool.space and Blockstream Esplora (one REST API, under /api): an address's transactions from the
recording (the recorded address's 2 confirmed transactions; any other address has none)."""

from fastapi import FastAPI
from starlette.responses import PlainTextResponse, Response

from sandbox.fixtures import load_json
from sandbox.history import History
from sandbox.responses import json_response

ADDRESS_TXS = {
    "bc1qvhykeqcpdzu0pdvy99xnh9ckhwzcfskct6h6l2": "esplora/api_address_bc1qvhyk_txs_mempool_space_2021-03.json"}
UNCONFIRMED_TX = "mempool/api_tx_unconfirmed.json"


def create_app(history: History) -> FastAPI:
    """The Esplora API app (mempool.space and Blockstream answer the same)."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    def recorded(address: str) -> list:
        name = ADDRESS_TXS.get(address)
        return load_json(name) if name else []

    @app.get("/api/address/{address}/txs")
    async def address_txs(address: str) -> Response:
        return json_response(recorded(address))

    @app.get("/api/address/{address}/txs/chain/{last_seen}")
    async def address_txs_after(address: str, last_seen: str) -> Response:
        rows = recorded(address)
        ids = [tx["txid"] for tx in rows]
        return json_response(rows[ids.index(last_seen) + 1:] if last_seen in ids else [])

    @app.get("/api/tx/{txid}")
    async def tx(txid: str) -> Response:
        known = {t["txid"]: t for t in [*load_json(ADDRESS_TXS[next(iter(ADDRESS_TXS))]), load_json(UNCONFIRMED_TX)]}
        if txid not in known:
            return PlainTextResponse("Transaction not found", status_code=404)
        return json_response(known[txid])

    return app
