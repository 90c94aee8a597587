"""The route table: which service owns each public path, and how long its answers stay fresh."""

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode


@dataclass(frozen=True)
class Route:
    """One public endpoint: served by `service` at `target`; `cache` is its spec 002 data kind."""

    path: str
    service: str
    target: str
    cache: str | None
    params: tuple[str, ...]

    def canonical_query(self, raw: bytes) -> str:
        """The declared parameters, last value wins, sorted: both the forwarded query and the cache key."""
        return _canonical(self.params, raw)


@lru_cache(maxsize=4096)
def _canonical(params: tuple[str, ...], raw: bytes) -> str:
    values = {k: v for k, v in parse_qsl(raw.decode("latin-1"), keep_blank_values=True) if k in params}
    return urlencode(sorted(values.items()))


ROUTES: tuple[Route, ...] = (
    Route("/api/market", "market", "/v1/market", "market", ("limit", "sort", "currency", "category")),
    Route("/api/ohlcv", "market", "/v1/ohlcv", "ohlcv", ("symbol", "timeframe", "limit", "since", "until")),
)

BY_PATH: dict[str, Route] = {route.path: route for route in ROUTES}
