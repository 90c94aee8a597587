"""HTTP routes of market-svc: parse, call the service, render. No logic lives here."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from dm_shared.envelope import JsonResponse, success
from dm_shared.errors import ValidationFailedError

from market_svc.domain import market
from market_svc.domain.symbols import TIMEFRAMES
from market_svc.schemas import ERRORS, MarketResponse, OhlcvResponse
from market_svc.service import MarketService

router = APIRouter(prefix="/v1")


def get_service(request: Request) -> MarketService:
    return request.app.state.service


ServiceDep = Annotated[MarketService, Depends(get_service)]
Timeframe = Literal[tuple(TIMEFRAMES)]  # type: ignore[valid-type]
UnixMs = Annotated[int | None, Query(ge=0, le=10**13, description="Unix time in milliseconds")]


@router.get("/market", responses={200: {"model": MarketResponse}, **ERRORS},
            summary="Top cryptocurrencies with price, volume, market cap and all-time figures")
async def get_market(
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    sort: market.SortKey = "rank",
    currency: Annotated[str, Query(min_length=3, max_length=5, description="Quote currency, e.g. usd, eur")] = "usd",
    category: market.Category = "all",
) -> JsonResponse:
    currency = currency.lower()
    if currency not in market.CURRENCIES:
        raise ValidationFailedError(f"Currency {currency!r} is not supported",
                                    details={"currency": currency, "supported": sorted(market.CURRENCIES)})
    items, provenance = await service.get_market(limit=limit, sort=sort, currency=currency, category=category)
    return JsonResponse(success(last_updated=market.newest(items), currency=currency, count=len(items),
                                items=items, **provenance.to_fields()))


@router.get("/ohlcv", responses={200: {"model": OhlcvResponse}, **ERRORS},
            summary="Candles (OHLCV) of a trading pair for charting")
async def get_ohlcv(
    service: ServiceDep,
    symbol: Annotated[str, Query(min_length=1, max_length=64, description="Trading pair, e.g. BTC/USDT")],
    timeframe: Timeframe,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    since: UnixMs = None,
    until: UnixMs = None,
) -> JsonResponse:
    candles, provenance = await service.get_ohlcv(symbol=symbol, timeframe=timeframe, limit=limit,
                                                  since=since, until=until)
    return JsonResponse(success(symbol=symbol.strip().upper(), timeframe=timeframe, data=candles,
                                **provenance.to_fields()))
