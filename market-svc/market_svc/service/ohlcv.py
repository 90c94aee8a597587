"""Candles: Binance, then KuCoin, then OKX, then CoinGecko (4h candles only)."""

import math

from dm_shared.assets import ASSETS, USD_STABLECOINS
from dm_shared.clock import now_ms
from dm_shared.errors import InvalidSymbolError, SourceUnsupportedError
from dm_shared.fallback import each, source
from dm_shared.names import Provider
from dm_shared.provenance import Provenance

from market_svc.domain import ohlcv
from market_svc.domain.timeframes import TIMEFRAMES
from market_svc.domain.types import Candle
from market_svc.service.labels import noted
from market_svc.sources import Sources

COINGECKO_OHLC_MAX_DAYS = 30  # CoinGecko returns 4-hour candles for 3..30 days, coarser beyond


async def get_ohlcv(sources: Sources, *, symbol: str, timeframe: str, limit: int, since: int | None,
                    until: int | None) -> tuple[list[Candle], Provenance, str]:
    """Candles of `symbol` (any accepted spelling) over the exchanges, then CoinGecko."""
    deadline = sources.deadline("ohlcv")
    ohlcv.check_window(since, until)
    resolved = sources.resolve(symbol)
    base, quote, pair = resolved.base, resolved.quote, str(resolved)

    async def from_exchange(exchange) -> list[Candle]:
        candles = await exchange.fetch_ohlcv(pair, timeframe, since=since, until=until, limit=limit)
        return ohlcv.select(candles, since=since, until=until, limit=limit)

    async def from_coingecko() -> list[Candle]:
        if timeframe != "4h":
            raise SourceUnsupportedError("coingecko serves 4h candles only")
        if quote not in USD_STABLECOINS | {"USD"} or base not in ASSETS:
            raise InvalidSymbolError(f"Symbol {pair} is not supported",
                                     details={"symbol": pair, "upstream": Provider.COINGECKO,
                                              "supported_symbols": [f"{b}/USDT" for b in sorted(ASSETS)]})
        end = until if until is not None else now_ms()
        start = since if since is not None else end - limit * TIMEFRAMES["4h"]
        days = max(3, math.ceil((end - start) / TIMEFRAMES["1d"]) + 1)
        if days > COINGECKO_OHLC_MAX_DAYS:
            raise SourceUnsupportedError("coingecko serves 4h candles for the last 30 days only")
        candles = await sources.coingecko.fetch_ohlc(coin_id=ASSETS[base].coingecko_id, currency="usd", days=days,
                                                     candle_ms=TIMEFRAMES["4h"])
        return ohlcv.select(candles, since=since, until=until, limit=limit)

    candles, provenance = await sources.first(
        [*each(sources.exchanges, from_exchange), source(sources.coingecko, from_coingecko)], deadline)
    return candles, noted(provenance, "ohlcv"), pair
