"""Routes: perpetual-swap funding and open interest."""

from fastapi import APIRouter

from dm_shared.envelope import JsonResponse, success
from dm_shared.schemas import ERRORS

from market_svc.api.deps import SourcesDep, SymbolPath
from market_svc.schemas import FundingResponse, OpenInterestResponse
from market_svc.service.derivatives import get_funding, get_open_interest

router = APIRouter(prefix="/v1/derivatives")


@router.get("/funding/{symbol:path}", responses={200: {"model": FundingResponse}, **ERRORS},
            summary="Current funding rate of the pair's USDT-margined perpetual")
async def funding(sources: SourcesDep, symbol: SymbolPath) -> JsonResponse:
    return JsonResponse(success(**await get_funding(sources, symbol=symbol)))


@router.get("/open-interest/{symbol:path}", responses={200: {"model": OpenInterestResponse}, **ERRORS},
            summary="Open interest of the pair's USDT-margined perpetual")
async def open_interest(sources: SourcesDep, symbol: SymbolPath) -> JsonResponse:
    return JsonResponse(success(**await get_open_interest(sources, symbol=symbol)))
