"""The route table: which service owns each public path, and how long its answers stay fresh."""

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, quote, urlencode


@dataclass(frozen=True)
class Route:
    """One public endpoint: served by `service` at `target`; `cache` is its spec 002 data kind.

    A route whose path ends in `/` takes the rest of the path as a parameter (a symbol), forwarded
    percent-encoded so that no spelling can walk to another service path.
    """

    path: str
    service: str
    target: str
    cache: str | None
    params: tuple[str, ...] = ()

    @property
    def prefix(self) -> bool:
        return self.path.endswith("/")

    def target_for(self, path: str) -> str:
        """The service path for a public path this route matched."""
        return self.target + quote(path[len(self.path):], safe="") if self.prefix else self.target

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
    Route("/api/price/", "market", "/v1/price/", "price", ("convert", "include_24h")),
    Route("/api/ticker/", "market", "/v1/ticker/", "price"),
    Route("/api/orderbook/", "market", "/v1/orderbook/", "price", ("limit",)),
    Route("/api/trades/", "market", "/v1/trades/", "price", ("limit", "since")),
    Route("/api/exchange-info", "market", "/v1/exchange-info", "market", ("exchange",)),
    Route("/api/stats", "market", "/v1/stats", "stats"),
    Route("/api/stats/dominance", "market", "/v1/stats/dominance", "stats"),
    Route("/api/history/price/", "market", "/v1/history/price/", "ohlcv", ("from", "to", "interval")),
    Route("/api/derivatives/funding/", "market", "/v1/derivatives/funding/", "market"),
    Route("/api/derivatives/open-interest/", "market", "/v1/derivatives/open-interest/", "market"),
)

_EXACT: dict[str, Route] = {route.path: route for route in ROUTES if not route.prefix}
_PREFIXED: tuple[Route, ...] = tuple(route for route in ROUTES if route.prefix)


def match(path: str) -> Route | None:
    """The route serving a public path, if any."""
    route = _EXACT.get(path)
    if route is not None:
        return route
    for candidate in _PREFIXED:
        if path.startswith(candidate.path) and len(path) > len(candidate.path):
            return candidate
    return None
