"""/api/admin/keys: API keys over HTTP, for callers with the admin scope (the edge checks it before these run).

The same as `python -m gateway.keys`: a key is shown once, in the answer that creates it.
"""

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import Field, field_validator
from pymongo.errors import PyMongoError

from dm_shared.clock import now_ms
from dm_shared.envelope import JsonResponse
from dm_shared.errors import NotFoundError, ServiceUnavailableError
from dm_shared.schemas import ERRORS, Model

from gateway.keys import SCOPES, KeyRecord, parse_scopes
from gateway.limiter import Rate

router = APIRouter(prefix="/api/admin", tags=["admin"])
KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="The key's id (its `dmk_<id>` prefix)")]


class ApiKey(Model):
    """A key as admins see it: never its secret, never its hash."""

    id: str
    prefix: str
    name: str
    scopes: list[str]
    rate: str | None
    created_at: int
    revoked_at: int | None


class ApiKeyList(Model):
    success: bool
    timestamp: int
    keys: list[ApiKey]


class NewApiKey(Model):
    """What a new key may do: its scopes among read, analyze, write, admin, and its own rate limit."""

    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(default=["read"], max_length=len(SCOPES))
    rate: str | None = Field(default=None, max_length=40, description="e.g. 1000/minute; default GATEWAY_RATE_KEYED")

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, scopes: list[str]) -> list[str]:
        return parse_scopes(scopes)

    @field_validator("rate")
    @classmethod
    def _a_rate(cls, rate: str | None) -> str | None:
        if rate is not None:
            Rate.parse(rate)
        return rate


class CreatedApiKey(Model):
    success: bool
    timestamp: int
    key: str = Field(description="The key itself, shown this once: only its hash is stored")
    api_key: ApiKey


class RevokedApiKey(Model):
    success: bool
    timestamp: int
    api_key: ApiKey


def _store(request: Request):
    return request.app.state.gateway.keys


def _answer(body: dict, status: int = 200) -> JsonResponse:
    return JsonResponse({"success": True, "timestamp": now_ms(), **body}, status_code=status)


def _unavailable(exc: PyMongoError) -> ServiceUnavailableError:
    return ServiceUnavailableError("The key store is not reachable", details={"store": "mongodb",
                                                                              "error": type(exc).__name__})


@router.get("/keys", summary="Every API key, active and revoked", responses={200: {"model": ApiKeyList}, **ERRORS})
async def list_keys(request: Request) -> JsonResponse:
    try:
        records = await _store(request).all()
    except PyMongoError as exc:
        raise _unavailable(exc) from exc
    return _answer({"keys": [record.public() for record in records]})


@router.post("/keys", summary="Create an API key (shown once)", status_code=201,
             responses={201: {"model": CreatedApiKey}, **ERRORS})
async def create_key(request: Request, new: NewApiKey) -> JsonResponse:
    try:
        record, key = await _store(request).create(name=new.name, scopes=new.scopes, rate=new.rate)
    except PyMongoError as exc:
        raise _unavailable(exc) from exc
    request.app.state.gateway.ring.remember(record)
    return _answer({"key": key, "api_key": record.public()}, status=201)


@router.delete("/keys/{key_id}", summary="Revoke an API key (every replica refuses it within seconds)",
               responses={200: {"model": RevokedApiKey}, **ERRORS})
async def revoke_key(request: Request, key_id: KeyId) -> JsonResponse:
    try:
        record: KeyRecord | None = await _store(request).revoke(key_id)
    except PyMongoError as exc:
        raise _unavailable(exc) from exc
    if record is None:
        raise NotFoundError("No such key", details={"id": key_id})
    request.app.state.gateway.ring.remember(record)
    return _answer({"api_key": record.public()})
