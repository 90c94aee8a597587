"""The service registry: every service behind the gateway, where it is, and the public routes it owns.

Adding a service is one `Service` row: its name (its URL is `GATEWAY_<NAME>_URL`, its health entry
`<name>-svc`) and its routes. A route names its public path, the service's path, its cache kind (spec
002's data kinds) and the query parameters it forwards; a path parameter is written `{name}` at the end
of both paths. tests/test_registry.py checks every route against the service's own OpenAPI document.
"""

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from urllib.parse import parse_qsl, quote, urlencode


@dataclass(frozen=True)
class Route:
    """One public endpoint: `target` on the owning service; `cache` is its spec 002 data kind. A route whose
    `methods` are not GET forwards the request body (capped, never cached)."""

    path: str
    target: str
    cache: str | None
    params: tuple[str, ...] = ()
    # An alias of another route: its path parameter is forwarded as this query parameter, and its answers
    # are that route's cache entries (`/api/ohlcv/BTC?timeframe=1h` is `/api/ohlcv?symbol=BTC&timeframe=1h`).
    as_query: str | None = None
    same_as: str | None = None
    methods: tuple[str, ...] = ("GET",)
    # The API-key scope a caller needs (`analyze`, `write`, `admin`); None: open to anonymous callers, at the
    # per-IP rate limit. `rate`: this route's own limit per identity beside the global one, e.g. "10/minute".
    scope: str | None = None
    rate: str | None = None

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

    def ignored(self, raw_query: bytes) -> bytes | None:
        """The query parameters this route does not take, comma-separated: they are ignored, and named in the
        answer's X-Ignored-Params header so that a typo is visible."""
        return _ignored(self.params, raw_query) if raw_query else None

    def resolve(self, path: str, raw_query: bytes) -> tuple[str, str, str]:
        """The service path, the forwarded query and the cache key of a request this route matched."""
        if self.as_query is None:
            query = _canonical(self.params, raw_query)
            return self.target_for(path), query, f"{path}?{query}"
        value = path[len(self.prefix):]
        query = urlencode(sorted({**dict(parse_qsl(_canonical(self.params, raw_query))), self.as_query: value}.items()))
        return self.target, query, f"{self.same_as or self.path}?{query}"


@lru_cache(maxsize=4096)
def _canonical(params: tuple[str, ...], raw: bytes) -> str:
    values = {k: v for k, v in parse_qsl(raw.decode("latin-1"), keep_blank_values=True) if k in params}
    return urlencode(sorted(values.items()))


_IGNORED_MAX = 512


@lru_cache(maxsize=4096)
def _ignored(params: tuple[str, ...], raw: bytes) -> bytes | None:
    # Percent-encoded as in a URL, so any name a client sends is a valid header value; at most 512 bytes.
    names = sorted({quote(k, safe="") for k, _ in parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
                    if k not in params})
    listed = ",".join(names)
    if len(listed) > _IGNORED_MAX:  # whole names while they fit; else the first one, cut
        cut = listed.rfind(",", 0, _IGNORED_MAX + 1)
        listed = listed[:cut] if cut > 0 else re.sub(r"%.?$", "", listed[:_IGNORED_MAX])
    return listed.encode("ascii") if names else None


@dataclass(frozen=True)
class Service:
    """A service of the suite: its name, its address when GATEWAY_<NAME>_URL is not set, its routes, and
    whether the gateway is unhealthy without it (else degraded)."""

    name: str
    default_url: str
    routes: tuple[Route, ...] = ()
    required: bool = False

    @property
    def url_setting(self) -> str:
        return f"GATEWAY_{self.name.upper()}_URL"


SERVICES: tuple[Service, ...] = (
    Service("market", "http://127.0.0.1:8101", required=True, routes=(
        Route("/api/market", "/v1/market", "market", ("limit", "sort", "currency", "category", "symbols", "symbol",
                                                     "ids")),
        Route("/api/ohlcv", "/v1/ohlcv", "ohlcv", ("symbol", "timeframe", "limit", "since", "until")),
        Route("/api/ohlcv/{symbol}", "/v1/ohlcv", "ohlcv", ("timeframe", "limit", "since", "until"),
              as_query="symbol", same_as="/api/ohlcv"),
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
        Route("/api/sentiment/analyze", "/v1/sentiment/analyze", None, methods=("POST",)),
    )),
    Service("chain", "http://127.0.0.1:8104", routes=(
        Route("/api/blockchain/transactions/{address}", "/v1/transactions/{address}", "chain",
              ("chain", "limit", "offset", "include")),
        Route("/api/blockchain/whale-alerts", "/v1/whale-alerts", "chain", ("min_value", "chain", "limit")),
    )),
    Service("ai", "http://127.0.0.1:8105", routes=(
        Route("/api/ai/signals", "/v1/signals", "ai_signals", ("symbol", "timeframe", "min_confidence", "limit")),
        Route("/api/ai/predict", "/v1/predict", None, methods=("POST",)),
        Route("/api/ai/analysis/{symbol}", "/v1/analysis/{symbol}", "ai_signals"),
        # Spec 004's AI trading endpoints, with its per-endpoint limits ("other endpoints": 60 a minute).
        Route("/api/ai/analyze", "/v1/analyze", None, methods=("POST",), scope="analyze", rate="10/minute"),
        Route("/api/ai/info", "/v1/info", None, rate="60/minute"),
        Route("/api/ai/strategies", "/v1/strategies", None, rate="60/minute"),
        Route("/api/ai/strategy-recommendations", "/v1/strategy-recommendations", None, methods=("POST",),
              rate="5/minute"),
        Route("/api/ai/market-condition", "/v1/market-condition", None, methods=("POST",), rate="5/minute"),
        Route("/api/ai/feedback", "/v1/feedback", None, methods=("POST",), scope="write", rate="20/minute"),
        Route("/api/ai/performance", "/v1/performance", None, ("model", "symbol", "window_days", "until", "by"),
              rate="60/minute"),
        Route("/api/ai/storage/stats", "/v1/storage/stats", None, rate="10/minute"),
        Route("/api/ai/storage/clear", "/v1/storage/clear", None, methods=("POST",), scope="admin", rate="1/minute"),
        Route("/api/ai/prompt", "/v1/prompt", None, methods=("GET", "PUT"), scope="admin", rate="60/minute"),
        Route("/api/ai/decisions", "/v1/decisions", None, ("symbol", "id", "limit"), scope="admin", rate="60/minute"),
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
