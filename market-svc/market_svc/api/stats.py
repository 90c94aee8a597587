"""Routes: global statistics, dominance and price history."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from dm_shared.envelope import JsonResponse, success
from dm_shared.schemas import ERRORS

from market_svc.api.deps import SourcesDep, SymbolPath
from market_svc.domain.history import INTERVALS
from market_svc.schemas import DominanceResponse, HistoryResponse, StatsResponse
from market_svc.service.history import get_history
from market_svc.service.stats import get_dominance, get_stats

router = APIRouter(prefix="/v1")
Interval = Literal[INTERVALS]  # type: ignore[valid-type]
RequiredMs = Annotated[int, Query(ge=0, le=10**13, description="Unix time in milliseconds")]


@router.get("/stats", responses={200: {"model": StatsResponse}, **ERRORS},
            summary="Global market statistics with the day's top gainers and losers")
async def stats(sources: SourcesDep) -> JsonResponse:
    return JsonResponse(success(**await get_stats(sources)))


@router.get("/stats/dominance", responses={200: {"model": DominanceResponse}, **ERRORS},
            summary="Market-cap share of the largest assets")
async def dominance(sources: SourcesDep) -> JsonResponse:
    return JsonResponse(success(**await get_dominance(sources)))


@router.get("/history/price/{symbol:path}", responses={200: {"model": HistoryResponse}, **ERRORS},
            summary="Historical prices at an interval between two times")
async def history(sources: SourcesDep, symbol: SymbolPath, from_: Annotated[int, Query(alias="from", ge=0, le=10**13)],
                  to: RequiredMs, interval: Interval = "1d") -> JsonResponse:
    return JsonResponse(success(**await get_history(sources, symbol=symbol, start=from_, end=to, interval=interval)))
