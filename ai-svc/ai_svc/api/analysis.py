"""Route: GET /v1/analysis/{symbol} (spec 002 section 4.3)."""

from typing import Annotated

from fastapi import APIRouter, Path

from dm_shared.envelope import JsonResponse, success
from dm_shared.schemas import ERRORS

from ai_svc.api.deps import StateDep
from ai_svc.schemas import AnalysisResponse
from ai_svc.service.analysis import analyse

router = APIRouter(prefix="/v1")
SymbolPath = Annotated[str, Path(min_length=1, max_length=32, description="An asset (BTC) or a pair (BTC/USDT)")]


@router.get("/analysis/{symbol:path}", responses={200: {"model": AnalysisResponse}, **ERRORS},
            summary="Technical, fundamental, sentiment, order-flow and forecast analysis; a part whose source "
                    "is down is null with the reason")
async def analysis(state: StateDep, symbol: SymbolPath) -> JsonResponse:
    return JsonResponse(success(**await analyse(state, symbol)))
