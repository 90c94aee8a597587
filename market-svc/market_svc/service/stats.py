"""Market-wide figures: global stats with top movers, dominance, and price history."""

from typing import Any

from dm_shared.assets import ASSETS, USD_STABLECOINS
from dm_shared.clock import now_ms
from dm_shared.errors import InvalidRangeError, SourceUnsupportedError, UpstreamError
from dm_shared.fallback import each, source
from dm_shared.names import Provider

from market_svc.domain import history
from market_svc.domain.timeframes import TIMEFRAMES
from market_svc.domain.types import MarketItem
from market_svc.service.labels import COIN_LIST, noted
from market_svc.sources import Sources

MOVERS = 5
DOMINANCE_TOP = 5
MAX_HISTORY_POINTS = 2000


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


async def get_stats(sources: Sources) -> dict[str, Any]:
    """Totals and dominance from CoinGecko /global, estimated from its coin list when /global fails;
    top movers from the coin list (empty, and said, when it cannot be had)."""
    deadline = sources.deadline("stats")
    fetched: list[list[MarketItem]] = []

    async def coins() -> list[MarketItem]:
        if not fetched:
            fetched.append(await _top_coins(sources))
        return fetched[0]

    async def from_global() -> dict[str, Any]:
        totals = await sources.coingecko.fetch_global()
        share = totals.market_cap_percentage
        return {"total_market_cap": totals.total_market_cap, "total_volume_24h": totals.total_volume_24h,
                "bitcoin_dominance": share.get("btc"), "ethereum_dominance": share.get("eth"),
                "defi_dominance": None, "market_cap_change_24h": totals.market_cap_change_24h,
                "volume_change_24h": None, "active_cryptocurrencies": totals.active_cryptocurrencies,
                "active_markets": None, "active_exchanges": totals.markets, "updated_at": totals.updated_at}

    async def from_coin_list() -> dict[str, Any]:
        listed = await coins()
        share = _shares(listed)
        return {"total_market_cap": sum(c.market_cap or 0 for c in listed),
                "total_volume_24h": sum(c.volume_24h or 0 for c in listed),
                "bitcoin_dominance": share.get("btc"), "ethereum_dominance": share.get("eth"),
                "defi_dominance": None, "market_cap_change_24h": None, "volume_change_24h": None,
                "active_cryptocurrencies": None, "active_markets": None, "active_exchanges": None,
                "updated_at": None}

    figures, provenance = await sources.first([source(sources.coingecko, from_global),
                                               source(sources.coingecko, from_coin_list, COIN_LIST)], deadline)
    provenance = noted(provenance, "stats")
    try:
        gainers, losers = _movers(await deadline.run(coins(), Provider.COINGECKO))
    except UpstreamError as exc:
        gainers, losers = [], []
        provenance.notes.append(f"top movers unavailable: {exc.code}")
    return {"global": figures, "top_gainers": gainers, "top_losers": losers, **provenance.to_fields()}


async def get_dominance(sources: Sources) -> dict[str, Any]:
    """Market-cap share of the largest assets and of all others, in percent."""
    deadline = sources.deadline("stats")

    async def from_global() -> dict[str, float]:
        return (await sources.coingecko.fetch_global()).market_cap_percentage

    async def from_coin_list() -> dict[str, float]:
        return _shares(await _top_coins(sources))

    shares, provenance = await sources.first([source(sources.coingecko, from_global),
                                              source(sources.coingecko, from_coin_list, COIN_LIST)], deadline)
    top = sorted(shares.items(), key=lambda kv: kv[1], reverse=True)[:DOMINANCE_TOP]
    dominance = {symbol.upper(): round(share, 4) for symbol, share in top}
    dominance["others"] = round(max(0.0, 100 - sum(share for _, share in top)), 4)
    return {"dominance": dominance, **noted(provenance, "dominance").to_fields()}


async def get_history(sources: Sources, *, symbol: str, start: int, end: int, interval: str) -> dict[str, Any]:
    """The price at each `interval` boundary between `start` and `end` (ms): CoinGecko, then exchange candles
    (domain/history.py says what each point means)."""
    deadline = sources.deadline("history")
    if start > end:
        raise InvalidRangeError("`from` is after `to`", details={"from": start, "to": end})
    if history.count(start, end, interval) > MAX_HISTORY_POINTS:
        raise InvalidRangeError(f"At most {MAX_HISTORY_POINTS} points per request; use a coarser interval",
                                details={"from": start, "to": end, "interval": interval,
                                         "max_points": MAX_HISTORY_POINTS})
    pair = sources.resolve(symbol)
    now = now_ms()
    times = history.grid(start, min(end, now), interval)

    async def from_coingecko() -> list[dict[str, Any]]:
        asset = ASSETS.get(pair.base)
        if asset is None or pair.quote not in USD_STABLECOINS | {"USD"}:
            raise SourceUnsupportedError(f"coingecko is not asked for {pair}")
        if not times:
            return []
        chart = await sources.coingecko.fetch_chart(coin_id=asset.coingecko_id, currency="usd",
                                                    start_s=history.previous(times[0], interval) // 1000,
                                                    end_s=times[-1] // 1000 + 1)
        prices = history.at_boundaries(chart.prices, times, interval)
        caps = history.at_boundaries(chart.market_caps, times, interval)
        volumes = history.at_boundaries(chart.total_volumes, times, interval)
        return [{"timestamp": t, "price": p, "volume": volumes.get(t), "base_volume": None,
                 "market_cap": caps.get(t)} for t, p in sorted(prices.items())]

    async def from_exchange(exchange) -> list[dict[str, Any]]:
        if not times:
            return []
        timeframe = history.CANDLES[interval]
        candle_ms = TIMEFRAMES[timeframe]
        since = history.previous(times[0], interval)
        limit = min(1000, (times[-1] - since) // candle_ms + 1)
        candles = await exchange.fetch_ohlcv(str(pair), timeframe, since=since, until=times[-1], limit=limit)
        closed = history.closes([(c.t, c.c, c.v) for c in candles], candle_ms, now)
        points = []
        for t in times:
            if t not in closed:
                continue
            volume = closed[t][1]
            if timeframe != interval:  # a month computed from its daily candles: the volume is their sum
                days = [closed.get(day) for day in history.grid(history.previous(t, interval) + candle_ms, t,
                                                                timeframe)]
                volume = None if any(d is None or d[1] is None for d in days) else sum(d[1] for d in days)
            points.append({"timestamp": t, "price": closed[t][0], "volume": None, "base_volume": volume,
                           "market_cap": None})
        return points

    data, provenance = await sources.first([source(sources.coingecko, from_coingecko),
                                            *each(sources.exchanges[:2], from_exchange)], deadline)
    return {"symbol": pair.base, "pair": str(pair), "interval": interval, "data": data,
            **noted(provenance, "history").to_fields()}
