"""Routes: prices, tickers, order books, trades and trading rules."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from dm_shared.envelope import JsonResponse, success
from dm_shared.names import Venue
from dm_shared.schemas import ERRORS

from market_svc.api.deps import Currency, SourcesDep, SymbolPath, UnixMs
from market_svc.schemas import (
    ExchangeInfoResponse,
    OrderBookResponse,
    PriceResponse,
    TickerResponse,
    TradesResponse,
)
from market_svc.service.book import get_exchange_info, get_orderbook, get_trades
from market_svc.service.prices import get_price, get_ticker

router = APIRouter(prefix="/v1")


@router.get("/price/{symbol:path}", responses={200: {"model": PriceResponse}, **ERRORS},
            summary="Consensus price: the median of every source that answers within the latency budget")
async def price(
    request: Request,
    sources: SourcesDep,
    symbol: SymbolPath,
    convert: Currency = "usd",
    include_24h: bool = True,
) -> JsonResponse:
    budget = request.app.state.settings.price_budget_ms / 1000
    body = await get_price(sources, symbol=symbol, convert=convert.lower(), include_24h=include_24h,
                           budget_s=budget)
    return JsonResponse(success(**body))


@router.get("/ticker/{symbol:path}", responses={200: {"model": TickerResponse}, **ERRORS},
            summary="24h ticker of a trading pair: bid, ask, last, volume")
async def ticker(sources: SourcesDep, symbol: SymbolPath) -> JsonResponse:
    return JsonResponse(success(**await get_ticker(sources, symbol=symbol)))


@router.get("/orderbook/{symbol:path}", responses={200: {"model": OrderBookResponse}, **ERRORS},
            summary="Order book depth: best bids and asks")
async def orderbook(sources: SourcesDep, symbol: SymbolPath,
                    limit: Annotated[int, Query(ge=1, le=100)] = 20) -> JsonResponse:
    return JsonResponse(success(**await get_orderbook(sources, symbol=symbol, limit=limit)))


@router.get("/trades/{symbol:path}", responses={200: {"model": TradesResponse}, **ERRORS},
            summary="Recent public trades")
async def trades(sources: SourcesDep, symbol: SymbolPath, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                 since: UnixMs = None) -> JsonResponse:
    return JsonResponse(success(**await get_trades(sources, symbol=symbol, limit=limit, since=since)))


@router.get("/exchange-info", responses={200: {"model": ExchangeInfoResponse}, **ERRORS},
            summary="Trading pairs of an exchange with limits and fees")
async def exchange_info(sources: SourcesDep,
                        exchange: Literal[Venue.BINANCE, Venue.KUCOIN, Venue.OKX] = Venue.BINANCE) -> JsonResponse:
    return JsonResponse(success(**await get_exchange_info(sources, exchange=exchange)))
