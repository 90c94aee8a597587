"""The response models every service documents: the envelope, provenance, errors and health.

Response models forbid fields they do not declare (`additionalProperties: false` in the OpenAPI
document), so a body that carries an undocumented field fails validation in the tests instead of
under-reporting in /docs.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    """Base of every documented body and item: undeclared fields are an error."""

    model_config = ConfigDict(extra="forbid")


class Attempt(Model):
    """A source that was tried and did not answer, and why."""

    source: str
    code: str
    message: str
    retry_after: float | None = Field(None, description="Seconds until the source may be asked again, when it "
                                                         "asked us to slow down")


class ProvenanceOut(Model):
    """Where a response's data came from, as `provenance` (see dm_shared.provenance)."""

    fetched_at: int
    fallback: bool
    cached: bool
    stale: bool
    age_ms: int
    failed: list[Attempt]
    notes: list[str]
    stale_reason: str | None = None


class Sourced(Model):
    """A data response: success, timestamp (ms), the answering source and its provenance."""

    success: bool
    timestamp: int
    source: str
    provenance: ProvenanceOut


class ErrorDetail(Model):
    code: str
    message: str
    details: dict[str, Any]


class ErrorResponse(Model):
    """Spec 002's error envelope."""

    success: bool
    error: ErrorDetail
    timestamp: int


_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before asking again", "required": True,
                                "schema": {"type": "integer", "minimum": 1}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, **({"headers": _RETRY_AFTER} if status in (429, 503, 504) else {})}
    for status in (400, 404, 422, 429, 500, 502, 503, 504)}


class HealthComponent(BaseModel):
    """One component of a health report; its check adds what it found (latency, breaker, counts...)."""

    model_config = ConfigDict(extra="allow")
    kind: str
    status: str
    required: bool = False


class GatewayHealth(Model):
    """The gateway's /health: every service and dependency, one status a load balancer can act on."""

    success: bool
    timestamp: int
    status: str
    version: str
    uptime: float
    # Admins and internal addresses only (GATEWAY_INTERNAL_NETWORKS).
    components: dict[str, HealthComponent] | None = None


class HealthReport(Model):
    """A service's /health (dm_shared.health): one status from its components."""

    model_config = ConfigDict(extra="allow")
    status: str
    service: str
    version: str
    timestamp: int
    components: dict[str, HealthComponent]
