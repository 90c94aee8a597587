"""Routes: the market list and candles."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from dm_shared.envelope import JsonResponse, success
from dm_shared.schemas import ERRORS

from market_svc.api.deps import Currency, SourcesDep, UnixMs
from market_svc.domain import market
from market_svc.domain.timeframes import TIMEFRAMES
from market_svc.schemas import MarketResponse, OhlcvResponse
from market_svc.service.market import get_market, scope
from market_svc.service.ohlcv import get_ohlcv

router = APIRouter(prefix="/v1")
Timeframe = Literal[tuple(TIMEFRAMES)]  # type: ignore[valid-type]


Tickers = Annotated[str | None, Query(
    pattern=r"^[A-Za-z0-9]{1,20}( *, *[A-Za-z0-9]{1,20}){0,99}$",
    description="Only these coins, by ticker (BTC,ETH,SOL; any case; at most 100)")]
CoinIds = Annotated[str | None, Query(
    pattern=r"^[a-z0-9-]{1,80}( *, *[a-z0-9-]{1,80}){0,99}$",
    description="Only these coins, by CoinGecko id (bitcoin,ethereum; at most 100)")]


def _listed(raw: str | None, upper: bool = False) -> list[str] | None:
    if raw is None:
        return None
    return list(dict.fromkeys(part.strip().upper() if upper else part.strip() for part in raw.split(",")))


@router.get("/market", responses={200: {"model": MarketResponse}, **ERRORS},
            summary="Top cryptocurrencies with price, volume, market cap and all-time figures")
async def market_list(
    sources: SourcesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    sort: market.SortKey = "rank",
    currency: Currency = "usd",
    category: market.Category = "all",
    symbols: Tickers = None,
    symbol: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9]{1,20}( *, *[A-Za-z0-9]{1,20}){0,99}$",
                                        description="The same as `symbols`")] = None,
    ids: CoinIds = None,
) -> JsonResponse:
    currency = currency.lower()
    wanted = _listed(",".join(part for part in (symbols, symbol) if part) or None, upper=True)
    items, not_found, provenance = await get_market(sources, limit=limit, sort=sort, currency=currency,
                                                    category=category, symbols=wanted, ids=_listed(ids))
    return JsonResponse(success(last_updated=market.newest(items), currency=currency,
                                **scope(provenance.source, currency), count=len(items), not_found=not_found,
                                items=[i.model_dump() for i in items], **provenance.to_fields()))


@router.get("/ohlcv", responses={200: {"model": OhlcvResponse}, **ERRORS},
            summary="Candles (OHLCV) of a trading pair for charting")
async def ohlcv(
    sources: SourcesDep,
    symbol: Annotated[str, Query(min_length=1, max_length=32, description="Trading pair, e.g. BTC/USDT")],
    timeframe: Timeframe,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    since: UnixMs = None,
    until: UnixMs = None,
) -> JsonResponse:
    candles, provenance, pair = await get_ohlcv(sources, symbol=symbol, timeframe=timeframe, limit=limit,
                                                since=since, until=until)
    return JsonResponse(success(symbol=pair, timeframe=timeframe, data=[c.model_dump() for c in candles],
                                **provenance.to_fields()))
