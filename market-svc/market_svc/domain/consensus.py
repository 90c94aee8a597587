"""The consensus price: which quotes are evidence, and what they agree on.

As benchmark administrators do (CF Benchmarks, the CME CF Real Time Index, Pyth):
- a quote is evidence only while it is fresh, by the source's own timestamp; an older one, or one without a
  timestamp, is left out as `stale`;
- a quote too far from the median of the fresh ones (more than `threshold`, a fraction) is left out as an
  `outlier`; a source left out as an outlier is let back only once it is within half the threshold, so it
  does not flap in and out;
- the price is the median of the quotes used, and the spread is theirs alone.
"""

import statistics
from dataclasses import dataclass, field

from market_svc.domain.types import Quote

STALE, OUTLIER = "stale", "outlier"


@dataclass
class Entry:
    """One source's quote and whether the consensus used it."""

    source: str
    quote: Quote
    age_ms: int | None
    excluded: str | None = None

    def to_dict(self) -> dict:
        body = {"source": self.source, "price": self.quote.price, "age_ms": self.age_ms,
                "used": self.excluded is None}
        if self.excluded:
            body["excluded"] = self.excluded
        return body


@dataclass
class Consensus:
    """The entries in source order, and the figures of the used ones (no price when none is usable)."""

    entries: list[Entry]
    price: float | None = None
    spread: float | None = None
    outliers: set[str] = field(default_factory=set)

    @property
    def used(self) -> list[Entry]:
        return [e for e in self.entries if e.excluded is None]


def agree(quotes: list[tuple[str, Quote]], *, now: int, max_age_ms: dict[str, int], default_max_age_ms: int,
          threshold: float, outliers_before: set[str]) -> Consensus:
    """Weigh `quotes`; `outliers_before` are the sources left out as outliers last time (hysteresis)."""
    entries = []
    for source, quote in quotes:
        age = max(0, now - quote.timestamp) if quote.timestamp else None
        limit = max_age_ms.get(source, default_max_age_ms)
        entries.append(Entry(source, quote, age, None if age is not None and age <= limit else STALE))
    fresh = [e for e in entries if e.excluded is None]
    result = Consensus(entries)
    if not fresh:
        return result
    reference = statistics.median(e.quote.price for e in fresh)
    for entry in fresh:
        allowed = threshold / 2 if entry.source in outliers_before else threshold
        if reference and abs(entry.quote.price - reference) / reference > allowed:
            entry.excluded = OUTLIER
            result.outliers.add(entry.source)
    used = [e.quote.price for e in result.used]
    if used:
        result.price = statistics.median(used)
        result.spread = max(used) - min(used)
    return result
