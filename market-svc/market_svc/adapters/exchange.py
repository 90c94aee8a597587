"""Exchanges through ccxt: markets, tickers, books, trades, candles and perpetuals, mapped into the suite's
types here, with ccxt's errors translated here, once, and every call under the venue's guard."""

import asyncio
import re
import time
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import ccxt
import ccxt.async_support as ccxt_async
import orjson

from dm_shared.adapter import reading
from dm_shared.errors import (
    ApiError,
    InvalidSymbolError,
    UpstreamBadResponseError,
    UpstreamError,
    UpstreamRateLimitedError,
    UpstreamRefusedError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from dm_shared.guard import Guard
from dm_shared.names import Venue
from dm_shared.ratelimit import is_rate_limit, venue_code, wait_seconds

from market_svc.domain.types import (
    Candle,
    Funding,
    MarketItem,
    OpenInterest,
    OrderBook,
    Quote,
    Ticker,
    Trade,
    TradingRules,
)

# The market types loaded per venue: spot, plus the USDT-margined perpetuals where derivatives are read.
# (By default ccxt loads every type, from hosts the suite never otherwise calls.)
VENUE_OPTIONS: dict[str, dict[str, Any]] = {
    Venue.BINANCE: {"fetchMarkets": {"types": ["spot", "linear"]}},
    Venue.KUCOIN: {"fetchMarkets": {"types": ["spot"]}},
    Venue.OKX: {"fetchMarkets": {"types": ["spot", "swap"]}},
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
VENUE_DEPTHS: dict[str, tuple[int, ...]] = {Venue.KUCOIN: (20, 100)}

_SERVER_STATUS = re.compile(r"\s(5\d\d)\s")


def suite_exchange(exchange_class: type, guard: Guard) -> type:
    """`exchange_class` as the suite runs it.

    - A rate-limit answer is recognised here, on the answer itself, whatever exception ccxt would make of
      it (RateLimitExceeded, DDoSProtection, or ExchangeNotAvailable for some venues' 429s), with the wait
      its own headers name.
    - A 2xx body that is not JSON is refused: ccxt would hand the raw text to its parsers, which then
      yield an empty, plausible-looking result instead of an error.
    - Each request spends its ccxt cost (the venue's request weight) from the guard's shared budget,
      instead of ccxt's per-process throttle; a spent budget refuses the call at once.
    """

    async def throttle(self, cost=None):
        await guard.spend(cost or 1)

    def on_rest_response(self, code, reason, url, method, response_headers, response_body, request_headers,
                         request_body):
        body = response_body.strip()
        if code >= 400 and is_rate_limit(code, body):
            found = venue_code(body)
            raise UpstreamRateLimitedError(
                f"{self.id} asked us to slow down (HTTP {code}{f', code {found}' if found else ''})",
                retry_after=wait_seconds(response_headers), details={"upstream": self.id, "status": code})
        if 200 <= code < 300 and body:
            try:
                orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise ccxt.BadResponse(f"{self.id} {method} {url} sent a body that is not JSON") from exc
        return body

    return type(exchange_class.__name__, (exchange_class,),
                {"on_rest_response": on_rest_response, "throttle": throttle})


def _translate(venue: str, exc: Exception) -> ApiError:
    if isinstance(exc, ApiError):  # the budget's own refusals pass through
        return exc
    where = {"upstream": venue}
    text = str(exc)[:160]
    if isinstance(exc, ccxt.RequestTimeout):
        return UpstreamTimeoutError(f"{venue} did not answer in time", details=where)
    if isinstance(exc, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):  # siblings under NetworkError in ccxt 4.5
        return UpstreamRateLimitedError(f"{venue} asked us to slow down", details=where)
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
        return UpstreamRefusedError(f"{venue} refused the request: {text}", details={**where, "status": 400})
    # ccxt parses what it is given; a malformed body surfaces as a Python error inside its parsers.
    return UpstreamBadResponseError(f"{venue} sent a response that could not be parsed ({type(exc).__name__})",
                                    details=where)


def to_ticker(symbol: str, t: dict[str, Any]) -> Ticker:
    """A ticker from ccxt's unified ticker."""
    return Ticker(symbol=symbol, bid=t.get("bid"), ask=t.get("ask"), last=t["last"], volume=t.get("quoteVolume"),
                  base_volume=t.get("baseVolume"), change_24h=t.get("percentage"), high_24h=t.get("high"),
                  low_24h=t.get("low"), exchange_timestamp=t.get("timestamp"))


def to_quote(t: dict[str, Any]) -> Quote:
    """A consensus quote from ccxt's unified ticker."""
    return Quote(price=t["last"], timestamp=t.get("timestamp"), change_24h=t.get("percentage"), high_24h=t.get("high"),
                 low_24h=t.get("low"), volume_24h=t.get("quoteVolume"))


def to_market_item(t: dict[str, Any], base: str) -> MarketItem:
    """A market item from a ticker; an exchange knows no market cap, supply or all-time figures."""
    return MarketItem(symbol=base, name=None, id=None, rank=None, price=t.get("last"), change_24h=t.get("percentage"),
                      change_7d=None, volume_24h=t.get("quoteVolume"), market_cap=None, circulating_supply=None,
                      total_supply=None, ath=None, ath_date=None, atl=None, atl_date=None,
                      last_updated=t.get("datetime"))


def to_book(symbol: str, book: dict[str, Any], limit: int) -> OrderBook:
    """Best `limit` levels a side from ccxt's unified order book."""
    return OrderBook(symbol=symbol, bids=[level[:2] for level in book["bids"][:limit]],
                     asks=[level[:2] for level in book["asks"][:limit]], exchange_timestamp=book.get("timestamp"))


def to_trade(t: dict[str, Any]) -> Trade:
    """A trade from ccxt's unified trade."""
    return Trade(id=t.get("id"), timestamp=t.get("timestamp"), price=t["price"], amount=t["amount"], side=t.get("side"),
                 type=t.get("type"), taker_or_maker=t.get("takerOrMaker"))


def to_candle(row: list[Any]) -> Candle:
    """A candle from a ccxt OHLCV row `[t, o, h, l, c, v]`."""
    return Candle(t=int(row[0]), o=row[1], h=row[2], l=row[3], c=row[4], v=row[5] if len(row) > 5 else None)


def to_rules(market: dict[str, Any]) -> TradingRules:
    """A spot pair's trading rules from a ccxt market."""
    limits = market.get("limits") or {}
    amount, price = limits.get("amount") or {}, limits.get("price") or {}
    return TradingRules(symbol=market["symbol"], base=market.get("base"), quote=market.get("quote"),
                        active=market.get("active"), min_amount=amount.get("min"), max_amount=amount.get("max"),
                        min_price=price.get("min"), max_price=price.get("max"), maker_fee=market.get("maker"),
                        taker_fee=market.get("taker"))


def to_funding(f: dict[str, Any]) -> Funding:
    """Funding from ccxt's unified funding rate."""
    return Funding(funding_rate=f["fundingRate"], funding_time=f.get("fundingTimestamp"),
                   next_funding_time=f.get("nextFundingTimestamp"), interval=f.get("interval"),
                   mark_price=f.get("markPrice"), index_price=f.get("indexPrice"),
                   exchange_timestamp=f.get("timestamp"))


def to_open_interest(oi: dict[str, Any], market: dict[str, Any]) -> OpenInterest:
    """Open interest in the base asset from ccxt's unified open interest, whose amount is in contracts: the
    venue's own base amount where it gives one (OKX `oiCcy`), else contracts x contract size."""
    info = oi.get("info") or {}
    amount = oi.get("openInterestAmount")
    if info.get("oiCcy") not in (None, ""):
        amount = float(info["oiCcy"])
    elif amount is not None:
        amount = amount * (market.get("contractSize") or 1)
    value_currency = "USD" if info.get("oiUsd") not in (None, "") else market.get("quote")
    return OpenInterest(open_interest=amount, open_interest_value=oi.get("openInterestValue"), unit=market["base"],
                        value_currency=value_currency if oi.get("openInterestValue") is not None else None,
                        exchange_timestamp=oi.get("timestamp"))


class ExchangeAdapter:
    """One ccxt exchange with its markets and its guard."""

    needs_key = False
    keyed = False

    def __init__(self, venue: str, *, guard: Guard, base_url: str | None, timeout: float, markets_ttl: float = 3600.0):
        self.name = venue
        self.guard = guard
        self.breaker = guard.breaker
        self.exchange: ccxt_async.Exchange = suite_exchange(getattr(ccxt_async, venue), guard)(
            {"timeout": int(timeout * 1000), "options": VENUE_OPTIONS.get(venue, {})})
        if base_url:
            self.exchange.urls["api"] = rewrite_hosts(self.exchange.urls["api"], base_url)
        guard.translate = partial(_translate, venue)
        self._markets_ttl = markets_ttl
        self._markets_loaded_at = 0.0
        self._markets_lock = asyncio.Lock()

    async def close(self) -> None:
        await self.exchange.close()

    async def _call(self, make_call) -> Any:
        # ccxt spends the budget per request itself (throttle), hence no cost here.
        return await self.guard.call(make_call, cost=None)

    async def markets(self) -> dict[str, Any]:
        """The venue's markets, loaded once and refreshed after `markets_ttl`."""
        async with self._markets_lock:
            stale = time.monotonic() - self._markets_loaded_at > self._markets_ttl
            if not self.exchange.markets or stale:
                await self._call(lambda: self.exchange.load_markets(reload=bool(self.exchange.markets)))
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

    async def fetch_trading_rules(self) -> list[TradingRules]:
        """Every spot pair's trading rules, from the venue's market list fetched now."""
        async with self._markets_lock:
            await self._call(lambda: self.exchange.load_markets(reload=True))
            self._markets_loaded_at = time.monotonic()
        with reading(self.name, "markets"):
            return [to_rules(m) for _, m in sorted(self.exchange.markets.items()) if m.get("spot")]

    async def fetch_ohlcv(self, symbol: str, timeframe: str, *, since: int | None, until: int | None,
                          limit: int) -> list[Candle]:
        """Candles oldest first."""
        await self.require_symbol(symbol)
        params = {"until": until} if until is not None else {}
        rows = await self._call(lambda: self.exchange.fetch_ohlcv(
            symbol, timeframe, since=since, limit=limit, params=params))
        if not isinstance(rows, list) or not all(
                isinstance(r, list) and len(r) >= 6 and isinstance(r[0], (int, float)) for r in rows):
            raise UpstreamBadResponseError(f"{self.name} candles are not [t, o, h, l, c, v] rows",
                                           details={"upstream": self.name})
        with reading(self.name, "candles"):
            return [to_candle(r) for r in rows]

    async def fetch_market_items(self, quote: str) -> list[MarketItem]:
        """Every spot pair against `quote` as a market item (price, change, volume; nothing else is known)."""
        await self.markets()
        tickers = await self._call(lambda: self.exchange.fetch_tickers())
        if not isinstance(tickers, dict):
            raise UpstreamBadResponseError(f"{self.name} tickers are not a mapping", details={"upstream": self.name})
        with reading(self.name, "tickers"):
            return [to_market_item(t, symbol.split("/")[0]) for symbol, t in tickers.items()
                    if symbol.endswith(f"/{quote}")]

    async def _ticker(self, symbol: str) -> dict[str, Any]:
        await self.require_symbol(symbol)
        ticker = await self._call(lambda: self.exchange.fetch_ticker(symbol))
        if not isinstance(ticker, dict) or not isinstance(ticker.get("last"), (int, float)):
            raise UpstreamBadResponseError(f"{self.name} ticker has no last price", details={"upstream": self.name})
        return ticker

    async def fetch_ticker(self, symbol: str) -> Ticker:
        """The venue's 24h ticker of a spot pair."""
        ticker = await self._ticker(symbol)
        with reading(self.name, "ticker"):
            return to_ticker(symbol, ticker)

    async def fetch_quote(self, symbol: str) -> Quote:
        """The venue's last price of a spot pair, with its time and 24h figures."""
        ticker = await self._ticker(symbol)
        with reading(self.name, "ticker"):
            return to_quote(ticker)

    async def fetch_order_book(self, symbol: str, limit: int) -> OrderBook:
        """Best `limit` bids and asks of a spot pair."""
        await self.require_symbol(symbol)
        depth = next((d for d in VENUE_DEPTHS.get(self.name, ()) if d >= limit), limit)
        book = await self._call(lambda: self.exchange.fetch_order_book(symbol, depth))
        if not isinstance(book, dict) or not all(isinstance(book.get(side), list) for side in ("bids", "asks")):
            raise UpstreamBadResponseError(f"{self.name} order book has no sides", details={"upstream": self.name})
        with reading(self.name, "order book"):
            return to_book(symbol, book, limit)

    async def fetch_trades(self, symbol: str, *, since: int | None, limit: int) -> list[Trade]:
        """The latest `limit` public trades of a spot pair at or after `since`, oldest first."""
        await self.require_symbol(symbol)
        trades = await self._call(lambda: self.exchange.fetch_trades(symbol, since=since, limit=limit))
        if not isinstance(trades, list):
            raise UpstreamBadResponseError(f"{self.name} trades are not a list", details={"upstream": self.name})
        with reading(self.name, "trades"):
            return [to_trade(t) for t in trades if since is None or (t.get("timestamp") or 0) >= since][-limit:]

    async def fetch_funding(self, perpetual: str) -> Funding:
        """Current funding of a linear perpetual swap (ccxt symbol such as BTC/USDT:USDT)."""
        await self.require_symbol(perpetual, "swap")
        funding = await self._call(lambda: self.exchange.fetch_funding_rate(perpetual))
        if not isinstance(funding, dict) or funding.get("fundingRate") is None:
            raise UpstreamBadResponseError(f"{self.name} funding has no rate", details={"upstream": self.name})
        with reading(self.name, "funding"):
            return to_funding(funding)

    async def fetch_open_interest(self, perpetual: str) -> OpenInterest:
        """Open interest of a linear perpetual swap."""
        market = await self.require_symbol(perpetual, "swap")
        interest = await self._call(lambda: self.exchange.fetch_open_interest(perpetual))
        if not isinstance(interest, dict) or (interest.get("openInterestAmount") is None
                                              and interest.get("openInterestValue") is None):
            raise UpstreamBadResponseError(f"{self.name} open interest is empty", details={"upstream": self.name})
        with reading(self.name, "open interest"):
            return to_open_interest(interest, market)
