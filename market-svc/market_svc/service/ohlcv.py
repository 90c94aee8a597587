"""Candles: Binance, then KuCoin, then OKX, then CoinGecko (4h candles only)."""

import math
from typing import Any

from dm_shared.envelope import now_ms
from dm_shared.errors import InvalidSymbolError, SourceUnsupportedError
from dm_shared.fallback import Source, first_success
from dm_shared.provenance import Provenance

from market_svc.adapters.exchange import ExchangeAdapter
from market_svc.domain import ohlcv
from market_svc.domain.assets import ASSETS, USD_STABLECOINS
from market_svc.domain.symbols import TIMEFRAMES
from market_svc.service.labels import noted
from market_svc.sources import Sources

COINGECKO_OHLC_MAX_DAYS = 30  # CoinGecko returns 4-hour candles for 3..30 days, coarser beyond


async def get_ohlcv(sources: Sources, *, symbol: str, timeframe: str, limit: int, since: int | None,
                    until: int | None) -> tuple[list[dict[str, Any]], Provenance, str]:
    """Candles of `symbol` (any accepted spelling) over the exchanges, then CoinGecko."""
    ohlcv.check_window(since, until)
    resolved = sources.resolve(symbol)
    base, quote, pair = resolved.base, resolved.quote, str(resolved)

    def from_exchange(exchange: ExchangeAdapter):
        async def fetch() -> list[dict[str, Any]]:
            rows = await exchange.fetch_ohlcv(pair, timeframe, since=since, until=until, limit=limit)
            return ohlcv.select([ohlcv.to_candle(r) for r in rows], since=since, until=until, limit=limit)
        return Source(exchange.name, fetch)

    async def from_coingecko() -> list[dict[str, Any]]:
        if timeframe != "4h":
            raise SourceUnsupportedError("coingecko serves 4h candles only")
        if quote not in USD_STABLECOINS | {"USD"} or base not in ASSETS:
            raise InvalidSymbolError(f"Symbol {pair} is not supported",
                                     details={"symbol": pair, "upstream": "coingecko",
                                              "supported_symbols": [f"{b}/USDT" for b in sorted(ASSETS)]})
        end = until if until is not None else now_ms()
        start = since if since is not None else end - limit * TIMEFRAMES["4h"]
        days = max(3, math.ceil((end - start) / TIMEFRAMES["1d"]) + 1)
        if days > COINGECKO_OHLC_MAX_DAYS:
            raise SourceUnsupportedError("coingecko serves 4h candles for the last 30 days only")
        rows = await sources.coingecko.fetch_ohlc(coin_id=ASSETS[base].coingecko_id, currency="usd", days=days)
        # CoinGecko stamps a candle with its close time; the suite stamps candles with their open time.
        opened = [[r[0] - TIMEFRAMES["4h"], *r[1:]] for r in rows]
        return ohlcv.select([ohlcv.to_candle(r) for r in opened], since=since, until=until, limit=limit)

    candles, provenance = await first_success(
        [from_exchange(e) for e in sources.exchanges] + [Source("coingecko", from_coingecko)])
    return candles, noted(provenance, "ohlcv"), pair
