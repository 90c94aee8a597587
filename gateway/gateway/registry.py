"""The service registry: every service behind the gateway, where it is, and the public routes it owns.

Adding a service is one `Service` row: its name (its URL is `GATEWAY_<NAME>_URL`, its health entry
`<name>-svc`) and its routes. A route names its public path, the service's path, its cache kind (spec
002's data kinds) and the query parameters it forwards; a path parameter is written `{name}` at the end
of both paths. tests/test_registry.py checks every route against the service's own OpenAPI document.
"""

from dataclasses import dataclass
from functools import cached_property, lru_cache
from urllib.parse import parse_qsl, quote, urlencode


@dataclass(frozen=True)
class Route:
    """One public endpoint: `target` on the owning service; `cache` is its spec 002 data kind. A POST route
    forwards its JSON body and is never cached."""

    path: str
    target: str
    cache: str | None
    params: tuple[str, ...] = ()
    method: str = "GET"

    @cached_property
    def param(self) -> str | None:
        """The path parameter's name, when the path ends in one (`/api/price/{symbol}`: symbol)."""
        return self.path.rsplit("{", 1)[1].rstrip("}") if self.path.endswith("}") else None

    @cached_property
    def prefix(self) -> str:
        """The path up to its parameter: the rest of a matching path is the parameter's value."""
        return self.path.rsplit("{", 1)[0] if self.param else self.path

    def target_for(self, path: str) -> str:
        """The service path for a public path this route matched; the parameter is forwarded
        percent-encoded, so that no spelling can walk to another service path."""
        if self.param is None:
            return self.target
        return self.target.rsplit("{", 1)[0] + quote(path[len(self.prefix):], safe="")

    def canonical_query(self, raw: bytes) -> str:
        """The declared parameters, last value wins, sorted: both the forwarded query and the cache key."""
        return _canonical(self.params, raw)


@lru_cache(maxsize=4096)
def _canonical(params: tuple[str, ...], raw: bytes) -> str:
    values = {k: v for k, v in parse_qsl(raw.decode("latin-1"), keep_blank_values=True) if k in params}
    return urlencode(sorted(values.items()))


@dataclass(frozen=True)
class Service:
    """A service of the suite: its name, its address when GATEWAY_<NAME>_URL is not set, its routes."""

    name: str
    default_url: str
    routes: tuple[Route, ...] = ()

    @property
    def url_setting(self) -> str:
        return f"GATEWAY_{self.name.upper()}_URL"


SERVICES: tuple[Service, ...] = (
    Service("market", "http://127.0.0.1:8101", routes=(
        Route("/api/market", "/v1/market", "market", ("limit", "sort", "currency", "category")),
        Route("/api/ohlcv", "/v1/ohlcv", "ohlcv", ("symbol", "timeframe", "limit", "since", "until")),
        Route("/api/price/{symbol}", "/v1/price/{symbol}", "price", ("convert", "include_24h")),
        Route("/api/ticker/{symbol}", "/v1/ticker/{symbol}", "price"),
        Route("/api/orderbook/{symbol}", "/v1/orderbook/{symbol}", "price", ("limit",)),
        Route("/api/trades/{symbol}", "/v1/trades/{symbol}", "price", ("limit", "since")),
        Route("/api/exchange-info", "/v1/exchange-info", "market", ("exchange",)),
        Route("/api/stats", "/v1/stats", "stats"),
        Route("/api/stats/dominance", "/v1/stats/dominance", "stats"),
        Route("/api/history/price/{symbol}", "/v1/history/price/{symbol}", "ohlcv", ("from", "to", "interval")),
        Route("/api/derivatives/funding/{symbol}", "/v1/derivatives/funding/{symbol}", "market"),
        Route("/api/derivatives/open-interest/{symbol}", "/v1/derivatives/open-interest/{symbol}", "market"),
    )),
    Service("stream", "http://127.0.0.1:8102"),
    Service("news", "http://127.0.0.1:8103", routes=(
        Route("/api/news/latest", "/v1/news/latest", "news",
              ("limit", "category", "language", "sentiment", "symbol", "source", "since", "cursor")),
        Route("/api/sentiment/global", "/v1/sentiment/global", "sentiment"),
        Route("/api/sentiment/global/history", "/v1/sentiment/global/history", "sentiment", ("days",)),
        Route("/api/sentiment/symbol/{symbol}", "/v1/sentiment/symbol/{symbol}", "sentiment", ("window_hours",)),
        Route("/api/sentiment/analyze", "/v1/sentiment/analyze", None, method="POST"),
    )),
)


class Router:
    """Finds the route (and its service) serving a public path."""

    def __init__(self, services: tuple[Service, ...] = SERVICES):
        self.owner: dict[Route, str] = {route: s.name for s in services for route in s.routes}
        self._exact = {route.path: route for route in self.owner if route.param is None}
        # Longest prefix first, so /api/history/price/{symbol} wins over a shorter prefix it contains.
        self._prefixed = sorted((r for r in self.owner if r.param), key=lambda r: len(r.prefix), reverse=True)

    def match(self, path: str) -> Route | None:
        """The route serving a public path, if any."""
        route = self._exact.get(path)
        if route is not None:
            return route
        for candidate in self._prefixed:
            if path.startswith(candidate.prefix) and len(path) > len(candidate.prefix):
                return candidate
        return None


ROUTER = Router()
match = ROUTER.match
