"""The market list: CoinGecko, then Binance, then CoinMarketCap when keyed.

Upstream resources are fetched, not client variants: each source's list (CoinGecko's and CoinMarketCap's
top coins by market cap for a currency and category, Binance's USDT tickers) is fetched once per
MARKET_PAGE_TTL_SECONDS for every replica (service/pages.py: single flight across replicas, refusals kept
too), and every `limit`, `sort` and filter a client asks for is cut from it here. The number of upstream
calls does not grow with the variety of client queries.
"""

from collections.abc import Awaitable, Callable

import orjson

from dm_shared.errors import SourceUnsupportedError
from dm_shared.fallback import source
from dm_shared.names import Venue
from dm_shared.provenance import Provenance

from market_svc.domain import market
from market_svc.domain.types import MarketItem
from market_svc.service.labels import noted
from market_svc.service.pages import get_page
from market_svc.sources import Sources

AGGREGATE = "aggregate"
# How many coins by market cap a list holds: what `limit` may ask for, and where filters look.
LIST_SIZE = 500


def scope(source: str, currency: str) -> dict[str, str]:
    """What an answering source's prices and volumes mean: Binance prices its own USDT pairs, the data
    providers aggregate every market they track in the currency asked for."""
    if source == Venue.BINANCE:
        return {"price_currency": "USDT", "volume_scope": Venue.BINANCE}
    return {"price_currency": currency.upper(), "volume_scope": AGGREGATE}


async def _listed(sources: Sources, key: str, fetch: Callable[[], Awaitable[list[MarketItem]]]) -> list[MarketItem]:
    """A source's whole list, from the page cache shared by every replica, fetched at most once per TTL."""

    async def fetch_bytes() -> bytes:
        return orjson.dumps([item.model_dump() for item in await fetch()])

    entry = await get_page(sources, key, sources.settings.page_ttl_seconds, fetch_bytes)
    items = entry.memo.get("items")
    if items is None:
        items = entry.memo["items"] = [MarketItem(**row) for row in orjson.loads(entry.body)]
    return items


async def get_market(sources: Sources, *, limit: int, sort: market.SortKey, currency: str,
                     category: market.Category, symbols: list[str] | None = None,
                     ids: list[str] | None = None) -> tuple[list[MarketItem], list[str], Provenance]:
    """The top `limit` coins, or those asked for, and the ones asked for that no list holds: CoinGecko, then
    Binance, then CoinMarketCap when keyed."""
    deadline = sources.deadline("market")
    gecko_category = market.COINGECKO_CATEGORIES.get(category)
    Cut = tuple[list[MarketItem], list[str]]

    def cut(items: list[MarketItem], default_sort: market.SortKey) -> Cut:
        chosen, not_found = market.select(items, symbols=symbols, ids=ids)
        return market.sort_items(chosen, default_sort)[:limit], not_found

    async def from_coingecko() -> Cut:
        items = await _listed(sources, f"market:coingecko:{currency}:{category}",
                              lambda: sources.coingecko.fetch_markets(currency=currency, order="market_cap_desc",
                                                                      count=LIST_SIZE, category=gecko_category))
        return cut(items, sort)

    async def from_binance() -> Cut:
        if currency != "usd" or category != "all":
            raise SourceUnsupportedError("binance serves the unfiltered list in USD(T) only")
        items = await _listed(sources, "market:binance:usdt", lambda: sources.binance.fetch_market_items("USDT"))
        return cut(items, "volume" if sort == "rank" else sort)

    async def from_cmc() -> Cut:
        if category != "all":
            raise SourceUnsupportedError("coinmarketcap is asked for the unfiltered list only")
        items = await _listed(sources, f"market:coinmarketcap:{currency}", lambda: sources.cmc.fetch_listings(
            currency=currency, count=LIST_SIZE))
        return cut(items, sort)

    (items, not_found), provenance = await sources.first([
        source(sources.coingecko, from_coingecko), source(sources.binance, from_binance),
        source(sources.cmc, from_cmc)], deadline)
    return items, not_found, noted(provenance, "market")
