"""Market-wide figures: global stats with top movers, dominance, and price history."""

from typing import Any

from dm_shared.errors import InvalidRangeError, SourceUnsupportedError, UpstreamError
from dm_shared.fallback import Source, first_success

from market_svc.domain import ohlcv
from market_svc.domain.assets import ASSETS, USD_STABLECOINS
from market_svc.service.labels import noted
from market_svc.sources import Sources

MOVERS = 5
DOMINANCE_TOP = 5
HISTORY_INTERVALS = {"1h": 3_600_000, "1d": 86_400_000, "1w": 604_800_000, "1M": 2_592_000_000}
MAX_HISTORY_POINTS = 2000


async def _top_coins(sources: Sources) -> list[dict[str, Any]]:
    return await sources.coingecko.fetch_markets(currency="usd", order="market_cap_desc", count=250, category=None)


def _movers(coins: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    ranked = sorted((c for c in coins if c.get("price_change_percentage_24h") is not None),
                    key=lambda c: c["price_change_percentage_24h"], reverse=True)
    entry = lambda c: {"symbol": c["symbol"].upper(), "name": c.get("name"),  # noqa: E731
                       "change_24h": c["price_change_percentage_24h"], "volume_24h": c.get("total_volume")}
    return [entry(c) for c in ranked[:MOVERS]], [entry(c) for c in ranked[::-1][:MOVERS]]


async def get_stats(sources: Sources) -> dict[str, Any]:
    """Totals and dominance from CoinGecko /global, estimated from its coin list when /global fails;
    top movers from the coin list (empty, and said, when it cannot be had)."""
    fetched: list[list[dict[str, Any]]] = []

    async def coins() -> list[dict[str, Any]]:
        if not fetched:
            fetched.append(await _top_coins(sources))
        return fetched[0]

    async def from_global() -> dict[str, Any]:
        data = await sources.coingecko.fetch_global()
        share = data.get("market_cap_percentage") or {}
        return {"total_market_cap": data["total_market_cap"].get("usd"),
                "total_volume_24h": (data.get("total_volume") or {}).get("usd"),
                "bitcoin_dominance": share.get("btc"), "ethereum_dominance": share.get("eth"),
                "defi_dominance": None, "market_cap_change_24h": data.get("market_cap_change_percentage_24h_usd"),
                "volume_change_24h": None, "active_cryptocurrencies": data.get("active_cryptocurrencies"),
                "active_markets": None, "active_exchanges": data.get("markets"),
                "updated_at": data.get("updated_at")}

    async def from_coin_list() -> dict[str, Any]:
        listed = await coins()
        total = sum(c.get("market_cap") or 0 for c in listed)
        share = {c["symbol"]: (c.get("market_cap") or 0) / total * 100 for c in listed} if total else {}
        return {"total_market_cap": total, "total_volume_24h": sum(c.get("total_volume") or 0 for c in listed),
                "bitcoin_dominance": share.get("btc"), "ethereum_dominance": share.get("eth"),
                "defi_dominance": None, "market_cap_change_24h": None, "volume_change_24h": None,
                "active_cryptocurrencies": None, "active_markets": None, "active_exchanges": None,
                "updated_at": None}

    figures, provenance = await first_success([Source("coingecko", from_global),
                                               Source("coingecko-markets", from_coin_list)])
    provenance = noted(provenance, "stats")
    try:
        gainers, losers = _movers(await coins())
    except UpstreamError as exc:
        gainers, losers = [], []
        provenance.notes.append(f"top movers unavailable: {exc.code}")
    return {"global": figures, "top_gainers": gainers, "top_losers": losers, **provenance.to_fields()}


async def get_dominance(sources: Sources) -> dict[str, Any]:
    """Market-cap share of the largest assets and of all others, in percent."""

    async def from_global() -> dict[str, float]:
        data = await sources.coingecko.fetch_global()
        return dict(data.get("market_cap_percentage") or {})

    async def from_coin_list() -> dict[str, float]:
        coins = await _top_coins(sources)
        total = sum(c.get("market_cap") or 0 for c in coins)
        return {c["symbol"]: (c.get("market_cap") or 0) / total * 100 for c in coins} if total else {}

    shares, provenance = await first_success([Source("coingecko", from_global),
                                              Source("coingecko-markets", from_coin_list)])
    top = sorted(shares.items(), key=lambda kv: kv[1], reverse=True)[:DOMINANCE_TOP]
    dominance = {symbol.upper(): round(share, 4) for symbol, share in top}
    dominance["others"] = round(max(0.0, 100 - sum(share for _, share in top)), 4)
    return {"dominance": dominance, **noted(provenance, "dominance").to_fields()}


def _resample(points: list[list[float]], start: int, step: int) -> dict[int, float]:
    """The last value in each `step`-long bucket from `start`."""
    buckets: dict[int, float] = {}
    for t, value in points:
        buckets[start + (int(t) - start) // step * step] = value
    return buckets


async def get_history(sources: Sources, *, symbol: str, start: int, end: int, interval: str) -> dict[str, Any]:
    """Prices at `interval` between `start` and `end` (ms): CoinGecko, then exchange candles."""
    if start > end:
        raise InvalidRangeError("`from` is after `to`", details={"from": start, "to": end})
    step = HISTORY_INTERVALS[interval]
    if (end - start) // step > MAX_HISTORY_POINTS:
        raise InvalidRangeError(f"At most {MAX_HISTORY_POINTS} points per request; use a coarser interval",
                                details={"from": start, "to": end, "interval": interval,
                                         "max_points": MAX_HISTORY_POINTS})
    pair = sources.resolve(symbol)

    async def from_coingecko() -> list[dict[str, Any]]:
        asset = ASSETS.get(pair.base)
        if asset is None or pair.quote not in USD_STABLECOINS | {"USD"}:
            raise SourceUnsupportedError(f"coingecko is not asked for {pair}")
        chart = await sources.coingecko.fetch_market_chart_range(
            coin_id=asset.coingecko_id, currency="usd", start_s=start // 1000, end_s=end // 1000 + 1)
        prices = _resample(chart["prices"], start, step)
        caps = _resample(chart.get("market_caps") or [], start, step)
        volumes = _resample(chart.get("total_volumes") or [], start, step)
        return [{"timestamp": t, "price": p, "volume": volumes.get(t), "market_cap": caps.get(t)}
                for t, p in sorted(prices.items()) if start <= t <= end]

    def from_exchange(exchange):
        async def fetch() -> list[dict[str, Any]]:
            limit = min(1000, (end - start) // step + 1)
            rows = await exchange.fetch_ohlcv(str(pair), interval, since=start, until=end, limit=limit)
            kept = ohlcv.select([ohlcv.to_candle(r) for r in rows], since=start, until=end, limit=limit)
            return [{"timestamp": c["t"], "price": c["c"], "volume": None, "base_volume": c["v"], "market_cap": None}
                    for c in kept]
        return Source(exchange.name, fetch)

    data, provenance = await first_success([Source("coingecko", from_coingecko),
                                            *(from_exchange(e) for e in sources.exchanges[:2])])
    return {"symbol": pair.base, "pair": str(pair), "interval": interval, "data": data,
            **noted(provenance, "history").to_fields()}
