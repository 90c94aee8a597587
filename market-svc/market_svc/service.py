"""What market-svc answers: each endpoint's fallback chain over its adapters."""

import math
from typing import Any

from dm_shared.breaker import CircuitBreaker
from dm_shared.envelope import now_ms
from dm_shared.errors import InvalidSymbolError, SourceUnsupportedError
from dm_shared.fallback import Source, first_success
from dm_shared.provenance import Provenance
from dm_shared.upstream import UpstreamClient

from market_svc.adapters.cmc import CoinMarketCapAdapter
from market_svc.adapters.coingecko import CoinGeckoAdapter
from market_svc.adapters.exchange import ExchangeAdapter
from market_svc.domain import market, ohlcv
from market_svc.domain.assets import COINGECKO_IDS, USD_STABLECOINS
from market_svc.domain.symbols import TIMEFRAMES, to_pair
from market_svc.settings import MarketSettings

# What a user should know about data from each source, said in the response.
NOTES: dict[str, dict[str, str]] = {
    "market": {
        "binance": "binance prices are in USDT against each coin; it publishes no market cap, supply or "
                   "all-time figures, and `rank` is empty (ordered by 24h quote volume when sorted by rank)",
    },
    "ohlcv": {"coingecko": "coingecko candles are priced in USD and carry no volume"},
}

COINGECKO_OHLC_MAX_DAYS = 30  # CoinGecko returns 4-hour candles for 3..30 days, coarser beyond


class MarketService:
    """The market endpoints over their sources, in the spec's priority order."""

    def __init__(self, settings: MarketSettings, client: UpstreamClient):
        secret = lambda value: value.get_secret_value() if value else None  # noqa: E731
        common = {"timeout": settings.upstream_timeout}

        def breaker(name: str) -> CircuitBreaker:
            return CircuitBreaker(name, threshold=settings.breaker_threshold, cooldown=settings.breaker_cooldown)

        self.coingecko = CoinGeckoAdapter(client, base_url=settings.coingecko_url, breaker=breaker("coingecko"),
                                          api_key=secret(settings.coingecko_api_key), **common)
        self.cmc = CoinMarketCapAdapter(client, base_url=settings.cmc_url, breaker=breaker("coinmarketcap"),
                                        api_key=secret(settings.cmc_api_key), **common)
        self.binance = ExchangeAdapter("binance", base_url=settings.binance_url, breaker=breaker("binance"),
                                       markets_ttl=settings.markets_refresh_seconds, **common)
        self.kucoin = ExchangeAdapter("kucoin", base_url=settings.kucoin_url, breaker=breaker("kucoin"),
                                      markets_ttl=settings.markets_refresh_seconds, **common)
        self.exchanges = [self.binance, self.kucoin]

    async def close(self) -> None:
        for exchange in self.exchanges:
            await exchange.close()

    # ---- /market ------------------------------------------------------------------------------

    async def get_market(self, *, limit: int, sort: market.SortKey, currency: str,
                         category: market.Category) -> tuple[list[dict[str, Any]], Provenance]:
        """The top `limit` coins: CoinGecko, then Binance, then CoinMarketCap when keyed."""

        async def from_coingecko() -> list[dict[str, Any]]:
            order = "volume_desc" if sort == "volume" else "market_cap_desc"
            # CoinGecko cannot order by 24h change: rank the top 250 by market cap by it instead.
            count = max(limit, 250) if sort == "price_change" else limit
            rows = await self.coingecko.fetch_markets(currency=currency, order=order, count=count,
                                                      category=market.COINGECKO_CATEGORIES.get(category))
            return market.sort_items([market.from_coingecko(r) for r in rows], sort)[:limit]

        async def from_binance() -> list[dict[str, Any]]:
            if currency != "usd" or category != "all":
                raise SourceUnsupportedError("binance serves the unfiltered list in USD(T) only")
            tickers = await self.binance.fetch_tickers()
            items = [market.from_exchange_ticker(t, symbol.split("/")[0]) for symbol, t in tickers.items()
                     if symbol.endswith("/USDT")]
            return market.sort_items(items, "volume" if sort == "rank" else sort)[:limit]

        async def from_cmc() -> list[dict[str, Any]]:
            if category != "all":
                raise SourceUnsupportedError("coinmarketcap is asked for the unfiltered list only")
            rows = await self.cmc.fetch_listings(currency=currency, count=limit)
            return market.sort_items([market.from_cmc(r, currency) for r in rows], sort)[:limit]

        items, provenance = await first_success([
            Source("coingecko", from_coingecko), Source("binance", from_binance), Source("coinmarketcap", from_cmc),
        ])
        return items, _noted(provenance, "market")

    # ---- /ohlcv -------------------------------------------------------------------------------

    async def get_ohlcv(self, *, symbol: str, timeframe: str, limit: int, since: int | None,
                        until: int | None) -> tuple[list[dict[str, Any]], Provenance]:
        """Candles: Binance, then KuCoin, then CoinGecko (4h candles only)."""
        base, quote = to_pair(symbol)
        pair = f"{base}/{quote}"
        ohlcv.check_window(since, until)

        def from_exchange(exchange: ExchangeAdapter):
            async def fetch() -> list[dict[str, Any]]:
                rows = await exchange.fetch_ohlcv(pair, timeframe, since=since, until=until, limit=limit)
                return ohlcv.select([ohlcv.to_candle(r) for r in rows], since=since, until=until, limit=limit)
            return Source(exchange.name, fetch)

        async def from_coingecko() -> list[dict[str, Any]]:
            if timeframe != "4h":
                raise SourceUnsupportedError("coingecko serves 4h candles only")
            if quote not in USD_STABLECOINS | {"USD"} or base not in COINGECKO_IDS:
                raise InvalidSymbolError(f"Symbol {pair} is not supported",
                                         details={"symbol": pair, "upstream": "coingecko",
                                                  "supported_symbols": [f"{b}/USDT" for b in sorted(COINGECKO_IDS)]})
            end = until if until is not None else now_ms()
            start = since if since is not None else end - limit * TIMEFRAMES["4h"]
            days = max(3, math.ceil((end - start) / TIMEFRAMES["1d"]) + 1)
            if days > COINGECKO_OHLC_MAX_DAYS:
                raise SourceUnsupportedError("coingecko serves 4h candles for the last 30 days only")
            rows = await self.coingecko.fetch_ohlc(coin_id=COINGECKO_IDS[base], currency="usd", days=days)
            # CoinGecko stamps a candle with its close time; the suite stamps candles with their open time.
            opened = [[r[0] - TIMEFRAMES["4h"], *r[1:]] for r in rows]
            return ohlcv.select([ohlcv.to_candle(r) for r in opened], since=since, until=until, limit=limit)

        candles, provenance = await first_success(
            [from_exchange(e) for e in self.exchanges] + [Source("coingecko", from_coingecko)])
        return candles, _noted(provenance, "ohlcv")


def _noted(provenance: Provenance, endpoint: str) -> Provenance:
    note = NOTES.get(endpoint, {}).get(provenance.source)
    if note:
        provenance.notes.append(note)
    return provenance
