"""The market list: CoinGecko, then Binance, then CoinMarketCap when keyed."""

from dm_shared.errors import SourceUnsupportedError
from dm_shared.fallback import source
from dm_shared.names import Venue
from dm_shared.provenance import Provenance

from market_svc.domain import market
from market_svc.domain.types import MarketItem
from market_svc.service.labels import noted
from market_svc.sources import Sources

AGGREGATE = "aggregate"


def scope(source: str, currency: str) -> dict[str, str]:
    """What an answering source's prices and volumes mean: Binance prices its own USDT pairs, the data
    providers aggregate every market they track in the currency asked for."""
    if source == Venue.BINANCE:
        return {"price_currency": "USDT", "volume_scope": Venue.BINANCE}
    return {"price_currency": currency.upper(), "volume_scope": AGGREGATE}


async def get_market(sources: Sources, *, limit: int, sort: market.SortKey, currency: str,
                     category: market.Category) -> tuple[list[MarketItem], Provenance]:
    """The top `limit` coins: CoinGecko, then Binance, then CoinMarketCap when keyed."""
    deadline = sources.deadline("market")

    async def from_coingecko() -> list[MarketItem]:
        order = "volume_desc" if sort == "volume" else "market_cap_desc"
        # CoinGecko cannot order by 24h change: rank the top 250 by market cap by it instead.
        count = max(limit, 250) if sort == "price_change" else limit
        items = await sources.coingecko.fetch_markets(currency=currency, order=order, count=count,
                                                      category=market.COINGECKO_CATEGORIES.get(category))
        return market.sort_items(items, sort)[:limit]

    async def from_binance() -> list[MarketItem]:
        if currency != "usd" or category != "all":
            raise SourceUnsupportedError("binance serves the unfiltered list in USD(T) only")
        items = await sources.binance.fetch_market_items("USDT")
        return market.sort_items(items, "volume" if sort == "rank" else sort)[:limit]

    async def from_cmc() -> list[MarketItem]:
        if category != "all":
            raise SourceUnsupportedError("coinmarketcap is asked for the unfiltered list only")
        items = await sources.cmc.fetch_listings(currency=currency, count=limit)
        return market.sort_items(items, sort)[:limit]

    items, provenance = await sources.first([
        source(sources.coingecko, from_coingecko), source(sources.binance, from_binance),
        source(sources.cmc, from_cmc)], deadline)
    return items, noted(provenance, "market")
