"""What exchanges list and trade: order books, recent trades, trading rules."""

from typing import Any

from dm_shared.fallback import each

from market_svc.sources import Sources


async def get_orderbook(sources: Sources, *, symbol: str, limit: int) -> dict[str, Any]:
    """Best `limit` bids and asks: Binance, then KuCoin, then OKX."""
    deadline = sources.deadline("orderbook")
    pair = str(sources.resolve(symbol))
    book, provenance = await sources.first(each(sources.exchanges, lambda e: e.fetch_order_book(pair, limit)),
                                           deadline)
    return {**book.model_dump(), **provenance.to_fields()}


async def get_trades(sources: Sources, *, symbol: str, limit: int, since: int | None) -> dict[str, Any]:
    """Recent public trades, newest last: Binance, then KuCoin, then OKX."""
    deadline = sources.deadline("trades")
    pair = str(sources.resolve(symbol))
    trades, provenance = await sources.first(
        each(sources.exchanges, lambda e: e.fetch_trades(pair, since=since, limit=limit)), deadline)
    return {"symbol": pair, "trades": [t.model_dump() for t in trades], **provenance.to_fields()}


async def get_exchange_info(sources: Sources, *, exchange: str) -> dict[str, Any]:
    """Spot pairs of `exchange` with their trading limits and fees, read from the venue now; another
    venue's if it cannot answer."""
    deadline = sources.deadline("exchange_info")
    venues = sorted(sources.exchanges, key=lambda e: e.name != exchange)
    rules, provenance = await sources.first(each(venues, lambda e: e.fetch_trading_rules()), deadline)
    return {"exchange": provenance.source, "symbols": [r.model_dump() for r in rules], **provenance.to_fields()}
