"""Market-wide figures: global stats with top movers, and dominance.

Both come from CoinGecko's /global, then CoinPaprika's /global (an independent second source), then an estimate
from CoinGecko's own list of its 250 largest coins: that list is fetched for the top movers anyway, and it may
still answer when both /global endpoints do not. What a source does not publish is null, and the answer says so.
"""

from typing import Any

from dm_shared.errors import UpstreamError
from dm_shared.fallback import source
from dm_shared.names import Provider

from market_svc.domain.types import GlobalMarket, MarketItem
from market_svc.service.labels import COIN_LIST, noted
from market_svc.sources import Sources

MOVERS = 5
DOMINANCE_TOP = 5


async def _top_coins(sources: Sources) -> list[MarketItem]:
    return await sources.coingecko.fetch_markets(currency="usd", order="market_cap_desc", count=250, category=None)


def _movers(coins: list[MarketItem]) -> tuple[list[dict], list[dict]]:
    ranked = sorted((c for c in coins if c.change_24h is not None), key=lambda c: c.change_24h, reverse=True)
    entry = lambda c: {"symbol": c.symbol, "name": c.name, "change_24h": c.change_24h,  # noqa: E731
                       "volume_24h": c.volume_24h}
    return [entry(c) for c in ranked[:MOVERS]], [entry(c) for c in ranked[::-1][:MOVERS]]


def _shares(coins: list[MarketItem]) -> dict[str, float]:
    total = sum(c.market_cap or 0 for c in coins)
    return {c.symbol.lower(): (c.market_cap or 0) / total * 100 for c in coins} if total else {}


def _figures(totals: GlobalMarket) -> dict[str, Any]:
    share = totals.market_cap_percentage
    return {"total_market_cap": totals.total_market_cap, "total_volume_24h": totals.total_volume_24h,
            "bitcoin_dominance": share.get("btc"), "ethereum_dominance": share.get("eth"), "defi_dominance": None,
            "market_cap_change_24h": totals.market_cap_change_24h, "volume_change_24h": totals.volume_change_24h,
            "active_cryptocurrencies": totals.active_cryptocurrencies, "active_markets": None,
            "active_exchanges": totals.markets, "updated_at": totals.updated_at}


async def get_stats(sources: Sources) -> dict[str, Any]:
    """Totals and dominance from CoinGecko /global, CoinPaprika /global, or estimated from CoinGecko's coin
    list; top movers from the coin list (null, and said, when it cannot be had)."""
    deadline = sources.deadline("stats")
    fetched: list[list[MarketItem]] = []

    async def coins() -> list[MarketItem]:
        if not fetched:
            fetched.append(await _top_coins(sources))
        return fetched[0]

    async def from_coingecko() -> dict[str, Any]:
        return _figures(await sources.coingecko.fetch_global())

    async def from_coinpaprika() -> dict[str, Any]:
        return _figures(await sources.coinpaprika.fetch_global())

    async def from_coin_list() -> dict[str, Any]:
        listed = await coins()
        share = _shares(listed)
        return {"total_market_cap": sum(c.market_cap or 0 for c in listed),
                "total_volume_24h": sum(c.volume_24h or 0 for c in listed),
                "bitcoin_dominance": share.get("btc"), "ethereum_dominance": share.get("eth"),
                "defi_dominance": None, "market_cap_change_24h": None, "volume_change_24h": None,
                "active_cryptocurrencies": None, "active_markets": None, "active_exchanges": None,
                "updated_at": None}

    figures, provenance = await sources.first([source(sources.coingecko, from_coingecko),
                                               source(sources.coinpaprika, from_coinpaprika),
                                               source(sources.coingecko, from_coin_list, COIN_LIST)], deadline)
    provenance = noted(provenance, "stats")
    gainers = losers = None
    try:
        gainers, losers = _movers(await deadline.run(coins(), Provider.COINGECKO))
        if provenance.source not in (Provider.COINGECKO, COIN_LIST):
            provenance.notes.append("top movers from coingecko's list of its 250 largest coins")
    except UpstreamError as exc:
        provenance.notes.append(f"top movers unavailable: {exc.code}")
    return {"global": figures, "top_gainers": gainers, "top_losers": losers, **provenance.to_fields()}


async def get_dominance(sources: Sources) -> dict[str, Any]:
    """Market-cap share of the largest assets a source breaks out and of all others together, in percent."""
    deadline = sources.deadline("stats")

    async def from_coingecko() -> dict[str, float]:
        return (await sources.coingecko.fetch_global()).market_cap_percentage

    async def from_coinpaprika() -> dict[str, float]:
        return (await sources.coinpaprika.fetch_global()).market_cap_percentage

    async def from_coin_list() -> dict[str, float]:
        return _shares(await _top_coins(sources))

    shares, provenance = await sources.first([source(sources.coingecko, from_coingecko),
                                              source(sources.coinpaprika, from_coinpaprika),
                                              source(sources.coingecko, from_coin_list, COIN_LIST)], deadline)
    top = sorted(shares.items(), key=lambda kv: kv[1], reverse=True)[:DOMINANCE_TOP]
    dominance = {symbol.upper(): round(share, 4) for symbol, share in top}
    dominance["others"] = round(max(0.0, 100 - sum(share for _, share in top)), 4)
    return {"dominance": dominance, **noted(provenance, "dominance").to_fields()}
