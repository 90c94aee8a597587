"""Every upstream market-svc reads, opened once per process with its guard, and the symbols they list."""

from collections.abc import Iterable
from typing import TypeVar

from dm_shared.budget import Budget, Limit
from dm_shared.cache import Cache
from dm_shared.deadline import Deadline
from dm_shared.errors import InvalidSymbolError
from dm_shared.fallback import Source, first_success
from dm_shared.guard import guards, secret_value
from dm_shared.names import Provider, Venue
from dm_shared.symbols import DEFAULT_QUOTE, Pair, parse_pair
from dm_shared.upstream import UpstreamClient

from market_svc.adapters.cmc import CoinMarketCapAdapter
from market_svc.adapters.coingecko import CoinGeckoAdapter
from market_svc.adapters.coinpaprika import CoinPaprikaAdapter
from market_svc.adapters.exchange import ExchangeAdapter
from market_svc.domain.listings import Listings
from market_svc.settings import MarketSettings

T = TypeVar("T")

# Published free-tier allowances. CoinPaprika's is 20,000 calls a month: less than one a minute, so its bucket
# holds more than a minute's allowance (20 calls, what two /stats routes spend in 50 minutes of CoinGecko outage).
MINUTES_PER_MONTH = 30 * 24 * 60
HTTP_LIMITS = {Provider.COINGECKO: Limit(30.0), Provider.COINMARKETCAP: Limit(30.0),
               Provider.COINPAPRIKA: Limit(20_000 / MINUTES_PER_MONTH, burst=20.0)}


class Sources:
    """The adapters, in the spec's priority order for exchanges: Binance, KuCoin, OKX."""

    def __init__(self, settings: MarketSettings, client: UpstreamClient, budget: Budget | None = None):
        self.settings = settings
        common = {"timeout": settings.upstream_timeout}

        guard = guards(budget, threshold=settings.breaker_threshold, cooldown=settings.breaker_cooldown)

        self.coingecko = CoinGeckoAdapter(client, guard=guard(Provider.COINGECKO), base_url=settings.coingecko_url,
                                          api_key=secret_value(settings.coingecko_api_key), **common)
        self.cmc = CoinMarketCapAdapter(client, guard=guard(Provider.COINMARKETCAP), base_url=settings.cmc_url,
                                        api_key=secret_value(settings.cmc_api_key), **common)
        self.coinpaprika = CoinPaprikaAdapter(client, guard=guard(Provider.COINPAPRIKA),
                                              base_url=settings.coinpaprika_url, **common)
        venues = {Venue.BINANCE: settings.binance_url, Venue.KUCOIN: settings.kucoin_url, Venue.OKX: settings.okx_url}
        self.exchanges = [ExchangeAdapter(venue, guard=guard(venue), base_url=url,
                                          markets_ttl=settings.markets_refresh_seconds, **common)
                          for venue, url in venues.items()]
        self.binance, self.kucoin, self.okx = self.exchanges
        self._listings: tuple[tuple[float, ...], Listings] | None = None
        # Sources the consensus left out as outliers last time, per pair and currency (its hysteresis).
        self.outliers: dict[str, set[str]] = {}
        # Whole upstream lists, shared by every replica, from which client queries are cut (service/market.py).
        self.pages = Cache(settings.redis_url)
        if budget is not None:
            published = {**HTTP_LIMITS, **{e.name: Limit(60_000 / e.exchange.rateLimit) for e in self.exchanges}}
            for name, limit in {**published, **{n: Limit(v) for n, v in settings.budgets.items()}}.items():
                budget.meter(name, limit)

    @property
    def adapters(self) -> list:
        """Every adapter, for /health."""
        return [self.coingecko, *self.exchanges, self.cmc, self.coinpaprika]

    async def close(self) -> None:
        for adapter in self.adapters:
            await adapter.close()
        await self.pages.close()

    def listings(self) -> Listings:
        """What the venues list, as far as their markets are loaded; rebuilt only after a market list
        reloads, not on every request (real venues list thousands of pairs)."""
        version = tuple(e.markets_version for e in self.exchanges)
        if self._listings is None or self._listings[0] != version:
            self._listings = (version, Listings(spot={e.name: e.spot_ids() for e in self.exchanges}))
        return self._listings[1]

    def deadline(self, kind: str) -> Deadline:
        """The deadline of a request of route kind `kind` (market, ohlcv, ticker, history ...), from now."""
        return Deadline(self.settings.deadlines.get(kind, self.settings.deadline_seconds))

    async def first(self, chain: Iterable[Source[T]], deadline: Deadline):
        """The first good answer of `chain` within `deadline`; an unknown symbol lists the pairs served."""
        return await first_success(list(chain), deadline=deadline, supported=self.listings().pairs)

    def resolve(self, raw: str, default_quote: str = DEFAULT_QUOTE) -> Pair:
        """The pair a user's spelling means (BTC, btc, BTC-USDT, BTCUSDT ...), a bare ticker priced in
        `default_quote`; INVALID_SYMBOL lists the pairs served."""
        listings = self.listings()
        try:
            return parse_pair(raw, known_bases=listings.bases, default_quote=default_quote)
        except InvalidSymbolError as exc:
            exc.details["supported_symbols"] = sorted(listings.pairs)
            raise
