"""Exchanges through ccxt: markets, candles and tickers, with ccxt's errors translated here, once."""

import asyncio
import logging
import re
import time
from typing import Any
from urllib.parse import urlsplit

import ccxt
import ccxt.async_support as ccxt_async
import orjson

from dm_shared.breaker import CircuitBreaker
from dm_shared.errors import (InvalidSymbolError, UpstreamBadResponseError, UpstreamError,
                              UpstreamRateLimitedError, UpstreamTimeoutError, UpstreamUnavailableError)
from dm_shared.metrics import UPSTREAM_CALLS, UPSTREAM_LATENCY

log = logging.getLogger("market.exchange")

# Spot markets only: by default ccxt also loads futures markets from each venue's futures hosts.
VENUE_OPTIONS: dict[str, dict[str, Any]] = {
    "binance": {"fetchMarkets": {"types": ["spot"]}},
    "kucoin": {"fetchMarkets": {"types": ["spot"]}},
}


def rewrite_hosts(urls: Any, base_url: str) -> Any:
    """Every http(s) URL in ccxt's nested `urls['api']` with its scheme and host replaced by `base_url`."""
    if isinstance(urls, dict):
        return {key: rewrite_hosts(value, base_url) for key, value in urls.items()}
    if isinstance(urls, str) and urls.startswith(("http://", "https://")):
        parts = urlsplit(urls)
        return base_url.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")
    return urls


_SERVER_STATUS = re.compile(r"\s(5\d\d)\s")


def strict(exchange_class: type) -> type:
    """`exchange_class` refusing a 2xx body that is not JSON: ccxt would hand the raw text to its parsers,
    which then yield an empty, plausible-looking result instead of an error."""

    def on_rest_response(self, code, reason, url, method, response_headers, response_body, request_headers,
                         request_body):
        body = response_body.strip()
        if 200 <= code < 300 and body:
            try:
                orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise ccxt.BadResponse(f"{self.id} {method} {url} sent a body that is not JSON") from exc
        return body

    return type(exchange_class.__name__, (exchange_class,), {"on_rest_response": on_rest_response})


def _translate(venue: str, exc: Exception) -> Exception:
    where = {"upstream": venue}
    text = str(exc)[:160]
    if isinstance(exc, ccxt.RequestTimeout):
        return UpstreamTimeoutError(f"{venue} did not answer in time", details=where)
    if isinstance(exc, ccxt.DDoSProtection):  # includes RateLimitExceeded: HTTP 429/418
        return UpstreamRateLimitedError(f"{venue} rate limit reached", details=where)
    if isinstance(exc, ccxt.BadSymbol):
        return InvalidSymbolError(f"{venue} does not list this symbol", details=where)
    if isinstance(exc, ccxt.NetworkError):
        # ccxt raises ExchangeNotAvailable both for an HTTP 5xx answer and, chained from aiohttp, for no answer.
        answered = _SERVER_STATUS.search(str(exc)) if exc.__cause__ is None else None
        if answered:
            return UpstreamError(f"{venue} answered HTTP {answered.group(1)}",
                                 details={**where, "status": int(answered.group(1))})
        return UpstreamUnavailableError(f"{venue} is unreachable", details=where)
    if isinstance(exc, ccxt.BadResponse):
        return UpstreamBadResponseError(f"{venue} sent an unreadable response", details=where)
    if isinstance(exc, ccxt.ExchangeError):
        return UpstreamError(f"{venue} refused the request: {text}", details={**where, "status": 400})
    # ccxt parses what it is given; a malformed body surfaces as a Python error inside its parsers.
    return UpstreamBadResponseError(f"{venue} sent a response that could not be parsed ({type(exc).__name__})",
                                    details=where)


class ExchangeAdapter:
    """One ccxt exchange with its markets, a breaker, and errors in the suite's terms."""

    def __init__(self, venue: str, *, base_url: str | None, timeout: float, breaker: CircuitBreaker,
                 markets_ttl: float = 3600.0):
        self.name = venue
        exchange_class = strict(getattr(ccxt_async, venue))
        self.exchange: ccxt_async.Exchange = exchange_class(
            {"timeout": int(timeout * 1000), "options": VENUE_OPTIONS.get(venue, {})})
        if base_url:
            self.exchange.urls["api"] = rewrite_hosts(self.exchange.urls["api"], base_url)
        self.breaker = breaker
        self._markets_ttl = markets_ttl
        self._markets_loaded_at = 0.0
        self._markets_lock = asyncio.Lock()

    async def close(self) -> None:
        await self.exchange.close()

    async def _call(self, make_call) -> Any:
        self.breaker.check()
        started = time.perf_counter()
        try:
            result = await make_call()
        except Exception as exc:  # the adapter boundary: every ccxt failure becomes a suite error
            error = _translate(self.name, exc)
            self.breaker.record(error)
            UPSTREAM_CALLS.labels(self.name, error.code.lower()).inc()
            raise error from exc
        finally:
            UPSTREAM_LATENCY.labels(self.name).observe(time.perf_counter() - started)
        self.breaker.record(None)
        UPSTREAM_CALLS.labels(self.name, "ok").inc()
        return result

    async def markets(self) -> dict[str, Any]:
        """The venue's spot markets, loaded once and refreshed after `markets_ttl`."""
        async with self._markets_lock:
            stale = time.monotonic() - self._markets_loaded_at > self._markets_ttl
            if not self.exchange.markets or stale:
                await self._call(lambda: self.exchange.load_markets(reload=bool(self.exchange.markets)))
                self._markets_loaded_at = time.monotonic()
        return self.exchange.markets

    def known_symbols(self) -> list[str]:
        """Spot symbols of the markets loaded so far (empty before the first load)."""
        return sorted(s for s, m in (self.exchange.markets or {}).items() if m.get("spot"))

    async def require_symbol(self, symbol: str) -> None:
        """INVALID_SYMBOL unless the venue lists `symbol` as a spot market."""
        markets = await self.markets()
        if symbol not in markets or not markets[symbol].get("spot"):
            raise InvalidSymbolError(f"Symbol {symbol} is not supported",
                                     details={"symbol": symbol, "upstream": self.name,
                                              "supported_symbols": self.known_symbols()})

    async def fetch_ohlcv(self, symbol: str, timeframe: str, *, since: int | None, until: int | None,
                          limit: int) -> list[list[Any]]:
        """Candles `[t, o, h, l, c, v]` oldest first."""
        await self.require_symbol(symbol)
        params = {"until": until} if until is not None else {}
        rows = await self._call(lambda: self.exchange.fetch_ohlcv(
            symbol, timeframe, since=since, limit=limit, params=params))
        if not isinstance(rows, list) or not all(
                isinstance(r, list) and len(r) >= 6 and isinstance(r[0], (int, float)) for r in rows):
            raise UpstreamBadResponseError(f"{self.name} candles are not [t, o, h, l, c, v] rows",
                                           details={"upstream": self.name})
        return rows

    async def fetch_tickers(self) -> dict[str, dict[str, Any]]:
        """Every spot ticker of the venue, by unified symbol."""
        await self.markets()
        tickers = await self._call(lambda: self.exchange.fetch_tickers())
        if not isinstance(tickers, dict):
            raise UpstreamBadResponseError(f"{self.name} tickers are not a mapping", details={"upstream": self.name})
        return tickers
