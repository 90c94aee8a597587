"""Control API on the control port: health, faults, request counts and the websocket stream rate."""

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

    @app.delete("/_sandbox/requests")
    async def reset_requests() -> Response:
        sandbox.counter.reset()
        sandbox.llm_keys.requests.clear()
        return json_response({"total": 0, "by_upstream": {}})

    return app
