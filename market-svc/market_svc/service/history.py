"""Price history: CoinGecko, then Binance and KuCoin candles, each window cut from canonical upstream blocks.

Every client window (`from`, `to`, `interval`) is answered from the blocks that cover it
(domain/history_blocks.py), each fetched once per TTL for every replica through the page cache
(service/pages.py): a block in progress for MARKET_HISTORY_TTL_SECONDS, a closed one for
MARKET_HISTORY_CLOSED_TTL_SECONDS. What each point means is in domain/history.py; it is the same whatever
window asked for it.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from dm_shared.assets import ASSETS, USD_STABLECOINS
from dm_shared.cache import Entry
from dm_shared.clock import now_ms
from dm_shared.errors import InvalidRangeError, SourceUnsupportedError
from dm_shared.fallback import each, source
from dm_shared.symbols import Pair

from market_svc.domain import history
from market_svc.domain.history_blocks import COINGECKO_GRANULARITY, Block, covering
from market_svc.domain.types import Candle, Chart
from market_svc.service.labels import noted
from market_svc.service.pages import get_page
from market_svc.sources import Sources

MAX_HISTORY_POINTS = 2000
# Points, and when the oldest block they were cut from was fetched (unix ms).
Points = tuple[list[dict[str, Any]], int]


async def _blocks(sources: Sources, key: str, blocks: list[Block],
                  fetch: Callable[[Block], Awaitable[bytes]]) -> list[Entry]:
    """Each block from the page cache (fetched at most once per its TTL), asked for at the same time."""
    settings, now = sources.settings, now_ms()

    def ttl(block: Block) -> float:
        return settings.history_closed_ttl_seconds if block.closed(now) else settings.history_ttl_seconds

    return list(await asyncio.gather(*(
        get_page(sources, f"history:{key}:{block.granularity}:{block.start}", ttl(block),
                 lambda block=block: fetch(block)) for block in blocks)))


def _oldest(entries: list[Entry]) -> int:
    return min((e.fetched_at for e in entries), default=now_ms())


def _parsed(entry: Entry, parse: Callable[[bytes], Any]) -> Any:
    """A block's body parsed once per process (the page cache's memo)."""
    if "parsed" not in entry.memo:
        entry.memo["parsed"] = parse(entry.body)
    return entry.memo["parsed"]


def _horizon(blocks: list[Block], entries: list[Entry]) -> float:
    """The last time the fetched blocks know about: a block fetched before its end knows nothing after that
    fetch, so a boundary past it waits for the block's next fetch instead of taking an earlier observation."""
    return min((e.fetched_at for b, e in zip(blocks, entries, strict=True) if e.fetched_at < b.end),
               default=float("inf"))


async def _coingecko_points(sources: Sources, pair: Pair, times: list[int], interval: str) -> Points:
    asset = ASSETS.get(pair.base)
    if asset is None or pair.quote not in USD_STABLECOINS | {"USD"}:
        raise SourceUnsupportedError(f"coingecko is not asked for {pair}")
    if not times:
        return [], now_ms()
    blocks = covering(history.previous(times[0], interval), times[-1], COINGECKO_GRANULARITY[interval])

    async def fetch(block: Block) -> bytes:
        chart = await sources.coingecko.fetch_chart(coin_id=asset.coingecko_id, currency="usd",
                                                    start_s=block.start // 1000, end_s=block.end // 1000)
        return orjson.dumps(chart.model_dump())

    entries = await _blocks(sources, f"coingecko:{asset.coingecko_id}:usd", blocks, fetch)
    charts = [_parsed(entry, lambda body: Chart(**orjson.loads(body))) for entry in entries]
    horizon = _horizon(blocks, entries)
    times = [t for t in times if t <= horizon]
    series = {name: sorted({t: v for chart in charts for t, v in getattr(chart, name)}.items())
              for name in ("prices", "market_caps", "total_volumes")}
    prices = history.at_boundaries(series["prices"], times, interval)
    caps = history.at_boundaries(series["market_caps"], times, interval)
    volumes = history.at_boundaries(series["total_volumes"], times, interval)
    return [{"timestamp": t, "price": p, "volume": volumes.get(t), "base_volume": None,
             "market_cap": caps.get(t)} for t, p in sorted(prices.items())], _oldest(entries)


async def _candle_points(sources: Sources, exchange, pair: Pair, times: list[int], interval: str) -> Points:
    if not times:
        return [], now_ms()
    await exchange.require_symbol(str(pair))  # INVALID_SYMBOL, even for a window no block covers
    timeframe = history.CANDLES[interval]
    candle_ms = history.FIXED[timeframe]
    blocks = covering(history.previous(times[0], interval), times[-1], timeframe)

    async def fetch(block: Block) -> bytes:
        candles = await exchange.fetch_ohlcv(str(pair), timeframe, since=block.start, until=block.end - 1,
                                             limit=block.candles)
        # Only complete candles are kept: a candle in progress would otherwise be read as closed later on.
        now = now_ms()
        return orjson.dumps([c.model_dump() for c in candles if c.t + candle_ms <= now])

    entries = await _blocks(sources, f"{exchange.name}:{pair}", blocks, fetch)
    candles = {c.t: c for entry in entries
               for c in _parsed(entry, lambda body: [Candle(**row) for row in orjson.loads(body)])}
    closed = history.closes([(c.t, c.c, c.v) for c in candles.values()], candle_ms, _horizon(blocks, entries))
    points = []
    for t in times:
        if t not in closed:
            continue
        volume = closed[t][1]
        if timeframe != interval:  # a month computed from its daily candles: the volume is their sum
            days = [closed.get(day) for day in history.grid(history.previous(t, interval) + candle_ms, t, timeframe)]
            volume = None if any(d is None or d[1] is None for d in days) else sum(d[1] for d in days)
        points.append({"timestamp": t, "price": closed[t][0], "volume": None, "base_volume": volume,
                       "market_cap": None})
    return points, _oldest(entries)


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
    asked = now_ms()
    times = history.grid(start, min(end, asked), interval)
    (data, fetched_at), provenance = await sources.first([
        source(sources.coingecko, lambda: _coingecko_points(sources, pair, times, interval)),
        *each(sources.exchanges[:2], lambda exchange: _candle_points(sources, exchange, pair, times, interval))],
        deadline)
    if fetched_at < asked:  # cut from blocks fetched before this request
        provenance.cached, provenance.age_ms = True, provenance.fetched_at - fetched_at
        provenance.fetched_at = fetched_at
    return {"symbol": pair.base, "pair": str(pair), "interval": interval, "data": data,
            **noted(provenance, "history").to_fields()}
