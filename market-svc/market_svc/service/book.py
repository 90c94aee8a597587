"""What exchanges list and trade: order books, recent trades, trading rules."""

from typing import Any

from dm_shared.fallback import Source, first_success

from market_svc.sources import Sources


def _chain(sources: Sources, make, first: str | None = None) -> list[Source]:
    exchanges = sorted(sources.exchanges, key=lambda e: e.name != first) if first else sources.exchanges
    return [Source(e.name, make(e)) for e in exchanges]


async def get_orderbook(sources: Sources, *, symbol: str, limit: int) -> dict[str, Any]:
    """Best `limit` bids and asks: Binance, then KuCoin, then OKX."""
    pair = str(sources.resolve(symbol))

    def make(exchange):
        async def fetch() -> dict[str, Any]:
            book = await exchange.fetch_order_book(pair, limit)
            return {"bids": [level[:2] for level in book["bids"][:limit]],
                    "asks": [level[:2] for level in book["asks"][:limit]],
                    "exchange_timestamp": book.get("timestamp")}
        return fetch

    book, provenance = await first_success(_chain(sources, make))
    return {"symbol": pair, **book, **provenance.to_fields()}


async def get_trades(sources: Sources, *, symbol: str, limit: int, since: int | None) -> dict[str, Any]:
    """Recent public trades, newest last: Binance, then KuCoin, then OKX."""
    pair = str(sources.resolve(symbol))

    def make(exchange):
        async def fetch() -> list[dict[str, Any]]:
            trades = await exchange.fetch_trades(pair, since=since, limit=limit)
            return [{"id": t.get("id"), "timestamp": t.get("timestamp"), "price": t.get("price"),
                     "amount": t.get("amount"), "side": t.get("side"), "type": t.get("type"),
                     "taker_or_maker": t.get("takerOrMaker")}
                    for t in trades if since is None or (t.get("timestamp") or 0) >= since][-limit:]
        return fetch

    trades, provenance = await first_success(_chain(sources, make))
    return {"symbol": pair, "trades": trades, **provenance.to_fields()}


async def get_exchange_info(sources: Sources, *, exchange: str) -> dict[str, Any]:
    """Spot pairs of `exchange` with their trading limits and fees, read from the venue now; another
    venue's if it cannot answer."""

    def make(venue):
        async def fetch() -> list[dict[str, Any]]:
            markets = await venue.reload_markets()
            return [_rules(m) for symbol, m in sorted(markets.items()) if m.get("spot")]
        return fetch

    symbols, provenance = await first_success(_chain(sources, make, first=exchange))
    return {"exchange": provenance.source, "symbols": symbols, **provenance.to_fields()}


def _rules(market: dict[str, Any]) -> dict[str, Any]:
    limits = market.get("limits") or {}
    amount, price = limits.get("amount") or {}, limits.get("price") or {}
    return {"symbol": market["symbol"], "base": market.get("base"), "quote": market.get("quote"),
            "active": market.get("active"), "min_amount": amount.get("min"), "max_amount": amount.get("max"),
            "min_price": price.get("min"), "max_price": price.get("max"),
            "maker_fee": market.get("maker"), "taker_fee": market.get("taker")}
