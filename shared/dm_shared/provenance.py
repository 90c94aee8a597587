"""Where a response's data came from: which source, whether a fallback, whether cached and how old."""

from dataclasses import asdict, dataclass, field
from typing import Any

from dm_shared.errors import ApiError


@dataclass
class Attempt:
    """One source the fallback chain tried and why it did not answer (when it asked us to slow down,
    for how long)."""

    source: str
    code: str
    message: str
    retry_after: float | None = None

    @classmethod
    def of(cls, source: str, error: ApiError) -> "Attempt":
        """The attempt of a source that failed with `error`."""
        retry_after = getattr(error, "retry_after", None)
        return cls(source, error.code, error.message, round(retry_after, 3) if retry_after is not None else None)

    def to_dict(self) -> dict[str, Any]:
        """As it appears in answers: `retry_after` only when the source named one."""
        body = {"source": self.source, "code": self.code, "message": self.message}
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return body


@dataclass
class Provenance:
    """Labels every data response carries, so a fallback or stale value is never passed off as fresh."""

    source: str
    fetched_at: int
    fallback: bool = False
    cached: bool = False
    stale: bool = False
    age_ms: int = 0
    failed: list[Attempt] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_fields(self) -> dict[str, Any]:
        """The response fields: top-level `source` plus the `provenance` object."""
        body = asdict(self)
        body["failed"] = [attempt.to_dict() for attempt in self.failed]
        return {"source": body.pop("source"), "provenance": body}
