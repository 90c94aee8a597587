"""The market list: CoinGecko, then Binance, then CoinMarketCap when keyed."""

from typing import Any

from dm_shared.errors import SourceUnsupportedError
from dm_shared.fallback import Source, first_success
from dm_shared.provenance import Provenance

from market_svc.domain import market
from market_svc.service.labels import noted
from market_svc.sources import Sources


async def get_market(sources: Sources, *, limit: int, sort: market.SortKey, currency: str,
                     category: market.Category) -> tuple[list[dict[str, Any]], Provenance]:
    """The top `limit` coins: CoinGecko, then Binance, then CoinMarketCap when keyed."""

    async def from_coingecko() -> list[dict[str, Any]]:
        order = "volume_desc" if sort == "volume" else "market_cap_desc"
        # CoinGecko cannot order by 24h change: rank the top 250 by market cap by it instead.
        count = max(limit, 250) if sort == "price_change" else limit
        rows = await sources.coingecko.fetch_markets(currency=currency, order=order, count=count,
                                                  category=market.COINGECKO_CATEGORIES.get(category))
        return market.sort_items([market.from_coingecko(r) for r in rows], sort)[:limit]

    async def from_binance() -> list[dict[str, Any]]:
        if currency != "usd" or category != "all":
            raise SourceUnsupportedError("binance serves the unfiltered list in USD(T) only")
        tickers = await sources.binance.fetch_tickers()
        items = [market.from_exchange_ticker(t, symbol.split("/")[0]) for symbol, t in tickers.items()
                 if symbol.endswith("/USDT")]
        return market.sort_items(items, "volume" if sort == "rank" else sort)[:limit]

    async def from_cmc() -> list[dict[str, Any]]:
        if category != "all":
            raise SourceUnsupportedError("coinmarketcap is asked for the unfiltered list only")
        rows = await sources.cmc.fetch_listings(currency=currency, count=limit)
        return market.sort_items([market.from_cmc(r, currency) for r in rows], sort)[:limit]

    items, provenance = await first_success([
        Source("coingecko", from_coingecko), Source("binance", from_binance), Source("coinmarketcap", from_cmc),
    ])
    return items, noted(provenance, "market")
