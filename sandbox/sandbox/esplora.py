"""mempool.space and Blockstream Esplora (one REST API, under /api): an address's transactions from the
recording (the recorded address's 2 confirmed transactions; any other address has none), and the blocks of
the sandbox's Bitcoin chain (see chainstate)."""

from fastapi import FastAPI
from starlette.responses import PlainTextResponse, Response

from sandbox.chainstate import BitcoinChain
from sandbox.fixtures import load_json
from sandbox.history import History
from sandbox.responses import json_response

ADDRESS_TXS = {
    "bc1qvhykeqcpdzu0pdvy99xnh9ckhwzcfskct6h6l2": "esplora/api_address_bc1qvhyk_txs_mempool_space_2021-03.json"}
UNCONFIRMED_TX = "mempool/api_tx_unconfirmed.json"


def create_app(history: History, *, chain: BitcoinChain) -> FastAPI:
    """The Esplora API app (mempool.space and Blockstream answer the same)."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/api/blocks/tip/height")
    async def tip_height() -> Response:
        return PlainTextResponse(str(chain.head))

    @app.get("/api/blocks/{start_height}")
    async def blocks(start_height: int) -> Response:
        """Up to 10 block summaries from `start_height` down, as Esplora pages them."""
        found = [chain.summary(h) for h in range(start_height, start_height - 10, -1)]
        return json_response([b for b in found if b is not None])

    @app.get("/api/block/{block_id}/txs/{start_index}")
    async def block_txs(block_id: str, start_index: int) -> Response:
        txs = chain.txs(block_id)
        if txs is None:
            return PlainTextResponse("Block not found", status_code=404)
        return json_response(txs[start_index:start_index + 25])

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
