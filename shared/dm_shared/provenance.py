"""Where a response's data came from: which source, whether a fallback, whether cached and how old."""

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Attempt:
    """One source the fallback chain tried and why it did not answer."""

    source: str
    code: str
    message: str


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
        return {"source": body.pop("source"), "provenance": body}
