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
from dm_shared.budget import Budget
from dm_shared.errors import (
    ApiError,
    InvalidSymbolError,
    UpstreamBadResponseError,
    UpstreamError,
    UpstreamRateLimitedError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from dm_shared.metrics import UPSTREAM_CALLS, UPSTREAM_LATENCY
from dm_shared.upstream import DEFAULT_PAUSE_SECONDS, parse_retry_after

log = logging.getLogger("market.exchange")

# The market types loaded per venue: spot, plus the USDT-margined perpetuals where derivatives are read.
# (By default ccxt loads every type, from hosts the suite never otherwise calls.)
VENUE_OPTIONS: dict[str, dict[str, Any]] = {
    "binance": {"fetchMarkets": {"types": ["spot", "linear"]}},
    "kucoin": {"fetchMarkets": {"types": ["spot"]}},
    "okx": {"fetchMarkets": {"types": ["spot", "swap"]}},
}


def rewrite_hosts(urls: Any, base_url: str) -> Any:
    """Every http(s) URL in ccxt's nested `urls['api']` with its scheme and host replaced by `base_url`."""
    if isinstance(urls, dict):
        return {key: rewrite_hosts(value, base_url) for key, value in urls.items()}
    if isinstance(urls, str) and urls.startswith(("http://", "https://")):
        parts = urlsplit(urls)
        return base_url.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")
    return urls


# Order-book depths a venue accepts, where it accepts only some; the nearest deeper one is asked for.
VENUE_DEPTHS: dict[str, tuple[int, ...]] = {"kucoin": (20, 100)}

_SERVER_STATUS = re.compile(r"\s(5\d\d)\s")


def suite_exchange(exchange_class: type, budget: Budget | None) -> type:
    """`exchange_class` as the suite runs it.

    - A 2xx body that is not JSON is refused: ccxt would hand the raw text to its parsers, which then
      yield an empty, plausible-looking result instead of an error.
    - Each request spends its ccxt cost (the venue's request weight) from the shared budget, instead of
      ccxt's per-process throttle; a spent budget refuses the call at once.
    """

    async def throttle(self, cost=None):
        if budget is None:
            return await exchange_class.throttle(self, cost)
        await budget.take(self.id, cost or 1)

    def on_rest_response(self, code, reason, url, method, response_headers, response_body, request_headers,
                         request_body):
        body = response_body.strip()
        if 200 <= code < 300 and body:
            try:
                orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise ccxt.BadResponse(f"{self.id} {method} {url} sent a body that is not JSON") from exc
        return body

    return type(exchange_class.__name__, (exchange_class,),
                {"on_rest_response": on_rest_response, "throttle": throttle})


def _translate(venue: str, exc: Exception, retry_after: float | None = None) -> ApiError:
    if isinstance(exc, ApiError):  # the budget's own refusals pass through
        return exc
    where = {"upstream": venue}
    text = str(exc)[:160]
    if isinstance(exc, ccxt.RequestTimeout):
        return UpstreamTimeoutError(f"{venue} did not answer in time", details=where)
    if isinstance(exc, ccxt.DDoSProtection):  # includes RateLimitExceeded: HTTP 429/418
        return UpstreamRateLimitedError(f"{venue} rate limit reached", retry_after=retry_after, details=where)
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
                 budget: Budget | None = None, markets_ttl: float = 3600.0):
        self.name = venue
        self.budget = budget
        exchange_class = suite_exchange(getattr(ccxt_async, venue), budget)
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
        except asyncio.CancelledError:
            self.breaker.release()
            raise
        except Exception as exc:  # the adapter boundary: every ccxt failure becomes a suite error
            headers = self.exchange.last_response_headers or {}
            error = _translate(self.name, exc, parse_retry_after(headers.get("Retry-After")))
            self.breaker.record(error)
            UPSTREAM_CALLS.labels(self.name, error.code.lower()).inc()
            if isinstance(error, UpstreamRateLimitedError) and not error.details.get("paused") and self.budget:
                await self.budget.pause(self.name, error.retry_after or DEFAULT_PAUSE_SECONDS)
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

    async def reload_markets(self) -> dict[str, Any]:
        """The venue's market list fetched now (and kept for symbol checks)."""
        async with self._markets_lock:
            await self._call(lambda: self.exchange.load_markets(reload=True))
            self._markets_loaded_at = time.monotonic()
        return self.exchange.markets

    def known_symbols(self, kind: str = "spot") -> list[str]:
        """Symbols of the loaded markets of one kind, `spot` or `swap` (empty before the first load)."""
        return sorted(s for s, m in (self.exchange.markets or {}).items() if m.get(kind))

    @property
    def markets_version(self) -> float:
        """Changes whenever the market list is (re)loaded."""
        return self._markets_loaded_at

    def spot_ids(self) -> dict[str, str]:
        """Loaded spot markets: unified symbol -> the venue's own id."""
        return {s: m["id"] for s, m in (self.exchange.markets or {}).items() if m.get("spot")}

    async def require_symbol(self, symbol: str, kind: str = "spot") -> dict[str, Any]:
        """The market of `symbol`, or INVALID_SYMBOL when the venue does not list it as `kind`."""
        markets = await self.markets()
        market = markets.get(symbol)
        if market is None or not market.get(kind):
            raise InvalidSymbolError(f"Symbol {symbol} is not supported",
                                     details={"symbol": symbol, "upstream": self.name,
                                              "supported_symbols": self.known_symbols(kind)})
        return market

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

    async def fetch_ticker(self, symbol: str) -> dict[str, Any]:
        """The venue's 24h ticker of a spot pair."""
        await self.require_symbol(symbol)
        ticker = await self._call(lambda: self.exchange.fetch_ticker(symbol))
        if not isinstance(ticker, dict) or not isinstance(ticker.get("last"), (int, float)):
            raise UpstreamBadResponseError(f"{self.name} ticker has no last price", details={"upstream": self.name})
        return ticker

    async def fetch_order_book(self, symbol: str, limit: int) -> dict[str, Any]:
        """Bids and asks of a spot pair, best first."""
        await self.require_symbol(symbol)
        depth = next((d for d in VENUE_DEPTHS.get(self.name, ()) if d >= limit), limit)
        book = await self._call(lambda: self.exchange.fetch_order_book(symbol, depth))
        if not isinstance(book, dict) or not all(isinstance(book.get(side), list) for side in ("bids", "asks")):
            raise UpstreamBadResponseError(f"{self.name} order book has no sides", details={"upstream": self.name})
        return book

    async def fetch_trades(self, symbol: str, *, since: int | None, limit: int) -> list[dict[str, Any]]:
        """Recent public trades of a spot pair, oldest first."""
        await self.require_symbol(symbol)
        trades = await self._call(lambda: self.exchange.fetch_trades(symbol, since=since, limit=limit))
        if not isinstance(trades, list):
            raise UpstreamBadResponseError(f"{self.name} trades are not a list", details={"upstream": self.name})
        return trades

    async def fetch_funding_rate(self, perpetual: str) -> dict[str, Any]:
        """Current funding of a linear perpetual swap (ccxt symbol such as BTC/USDT:USDT)."""
        await self.require_symbol(perpetual, "swap")
        funding = await self._call(lambda: self.exchange.fetch_funding_rate(perpetual))
        if not isinstance(funding, dict) or funding.get("fundingRate") is None:
            raise UpstreamBadResponseError(f"{self.name} funding has no rate", details={"upstream": self.name})
        return funding

    async def fetch_open_interest(self, perpetual: str) -> dict[str, Any]:
        """Open interest of a linear perpetual swap."""
        await self.require_symbol(perpetual, "swap")
        interest = await self._call(lambda: self.exchange.fetch_open_interest(perpetual))
        if not isinstance(interest, dict) or (interest.get("openInterestAmount") is None
                                              and interest.get("openInterestValue") is None):
            raise UpstreamBadResponseError(f"{self.name} open interest is empty", details={"upstream": self.name})
        return interest
