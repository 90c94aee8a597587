"""Control API on the control port: health, faults, request counts, the websocket stream rate and mining."""

import time
from typing import TYPE_CHECKING, Any, Literal

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field
from starlette.responses import Response

from sandbox.responses import json_response

if TYPE_CHECKING:
    from sandbox.runtime import Sandbox


class FaultIn(BaseModel):
    """A fault to inject (see the contract in the sandbox README)."""

    upstream: str
    mode: Literal["status", "rate_limit", "delay", "malformed", "refuse", "drop", "silence"]
    path: str | None = None
    status: int = Field(500, ge=100, le=599)
    retry_after: int = Field(1, ge=0)
    delay: float = Field(0.0, ge=0)
    times: int | None = Field(None, ge=1)
    # JSON answered by status and rate_limit faults instead of the sandbox's error object.
    body: Any = None
    # With a text `body`: that text under this content type (e.g. text/html), not JSON.
    content_type: str | None = Field(None, max_length=100)


class TransferIn(BaseModel):
    """One transfer of a block to mine: its value in the chain's base unit (wei, satoshis), optionally its ends."""

    value: int = Field(ge=0, lt=2**256)
    sender: str | None = Field(None, alias="from", min_length=1, max_length=100)
    to: str | None = Field(None, min_length=1, max_length=100)


class BlockIn(BaseModel):
    """A block to mine on the sandbox's Ethereum or Bitcoin chain."""

    chain: Literal["ethereum", "bitcoin"] = "ethereum"
    transfers: list[TransferIn] = Field(min_length=1)


class NewsItemIn(BaseModel):
    """A feed to publish the next recorded item on, and whether CryptoPanic lists it too."""

    feed: Literal["coindesk", "cointelegraph"] = "cointelegraph"
    cryptopanic: bool = False


class KeyStateIn(BaseModel):
    """A state for one key of the OpenAI-compatible endpoint: 401 (invalid key) or 429 (rate limited)."""

    key: str = Field(min_length=1, max_length=200)
    status: Literal[401, 429]
    retry_after: int = Field(60, ge=0)


class StreamsIn(BaseModel):
    """New websocket stream rate: messages per second per stream."""

    rate: float = Field(gt=0, le=1000)


def create_app(sandbox: "Sandbox") -> FastAPI:
    """The control app for one sandbox."""
    app = FastAPI(title="sandbox control", openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/_sandbox/health")
    async def health() -> Response:
        listening = {name: lst.listening for name, lst in sandbox.upstreams.items()}
        return json_response({"ok": True, "ports": sandbox.ports(), "listening": listening})

    @app.get("/_sandbox/faults")
    async def list_faults() -> Response:
        return json_response([f.to_dict() for f in sandbox.faults.list()])

    @app.post("/_sandbox/faults", status_code=201)
    async def add_fault(fault: FaultIn) -> Response:
        if fault.upstream not in sandbox.upstreams:
            raise HTTPException(400, f"unknown upstream {fault.upstream!r}; served: {sorted(sandbox.upstreams)}")
        added = sandbox.faults.add(**fault.model_dump(), retry_after_given="retry_after" in fault.model_fields_set)
        if added.mode == "drop":
            # A one-off action, not a standing fault: the open websockets end now, new ones are accepted.
            sandbox.faults.remove(added.id)
            dropped = sandbox.upstreams[fault.upstream].drop_websockets(fault.path)
            return json_response({"id": added.id, "dropped": dropped}, status_code=201)
        await sandbox.sync_listeners()
        return json_response({"id": added.id}, status_code=201)

    @app.delete("/_sandbox/faults")
    async def clear_faults() -> Response:
        cleared = sandbox.faults.clear()
        lifted = sandbox.llm_keys.lift()  # a key's state is a fault too
        await sandbox.sync_listeners()
        return json_response({"cleared": len(cleared) + lifted})

    @app.get("/_sandbox/openai/keys")
    async def llm_keys() -> Response:
        return json_response(sandbox.llm_keys.snapshot())

    @app.post("/_sandbox/openai/keys", status_code=201)
    async def set_llm_key(state: KeyStateIn) -> Response:
        sandbox.llm_keys.set(state.key, state.status, state.retry_after)
        return json_response(sandbox.llm_keys.snapshot(), status_code=201)

    @app.delete("/_sandbox/openai/keys")
    async def lift_llm_keys() -> Response:
        return json_response({"lifted": sandbox.llm_keys.lift()})

    @app.delete("/_sandbox/faults/{fault_id}")
    async def delete_fault(fault_id: str) -> Response:
        if sandbox.faults.remove(fault_id) is None:
            raise HTTPException(404, f"no fault {fault_id!r}")
        await sandbox.sync_listeners()
        return json_response({"cleared": 1})

    @app.get("/_sandbox/requests")
    async def requests(upstream: str | None = None, path: str | None = None) -> Response:
        return json_response(sandbox.counter.snapshot(upstream, path))

    @app.get("/_sandbox/streams")
    async def streams() -> Response:
        return json_response(sandbox.streams.snapshot())

    @app.post("/_sandbox/streams")
    async def set_streams(change: StreamsIn) -> Response:
        sandbox.streams.set_rate(change.rate)
        return json_response(sandbox.streams.snapshot())

    @app.post("/_sandbox/chain/blocks", status_code=201)
    async def mine(block: BlockIn) -> Response:
        transfers = [{"value": t.value, **({"from": t.sender} if t.sender else {}), **({"to": t.to} if t.to else {})}
                     for t in block.transfers]
        try:
            if block.chain == "bitcoin":
                return json_response(sandbox.bitcoin.mine(transfers, int(time.time())), status_code=201)
            mined = sandbox.chain.mine(transfers, int(time.time()))
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        return json_response({"number": int(mined["number"], 16), "hash": mined["hash"],
                              "timestamp": int(mined["timestamp"], 16),
                              "transactions": [tx["hash"] for tx in mined["transactions"]]}, status_code=201)

    @app.get("/_sandbox/chain")
    async def chain_head() -> Response:
        return json_response({"head": sandbox.chain.head, "bitcoin_head": sandbox.bitcoin.head,
                              "calls": dict(sorted(sandbox.chain.calls.items()))})

    @app.post("/_sandbox/news/items", status_code=201)
    async def publish_news(item: NewsItemIn) -> Response:
        try:
            published = sandbox.news.publish(item.feed, item.cryptopanic)
        except LookupError as exc:
            raise HTTPException(409, str(exc)) from exc
        return json_response(published, status_code=201)

    @app.delete("/_sandbox/requests")
    async def reset_requests() -> Response:
        sandbox.counter.reset()
        sandbox.llm_keys.requests.clear()
        return json_response({"total": 0, "by_upstream": {}})

    return app
