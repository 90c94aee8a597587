"""Route: POST /v1/analyze (spec 004's POST /ai/analyze)."""

from fastapi import APIRouter, Depends

from dm_shared.envelope import JsonResponse, success
from dm_shared.schemas import ERRORS, ErrorResponse

from ai_svc.api.deps import StateDep, candle_body
from ai_svc.service.analyze import analyze as make_analysis
from ai_svc.trading_schemas import AnalyzeRequest, AnalyzeResponse

router = APIRouter(prefix="/v1")


@router.post("/analyze", responses={200: {"model": AnalyzeResponse}, 413: {"model": ErrorResponse}, **ERRORS},
             dependencies=[Depends(candle_body)],
             summary="Trading signal with reasoning, strategy scores, market analysis and risk: the LLM's when "
                     "one is configured and answers in the schema, else the indicator engine's")
async def analyze(state: StateDep, request: AnalyzeRequest) -> JsonResponse:
    data = request.model_dump(include={"timeframe_data"})["timeframe_data"]
    context = request.strategy_context.model_dump() if request.strategy_context else None
    if context is not None or request.current_price is not None or request.volume_24h is not None:
        context = {**(context or {}), "current_price": request.current_price, "volume_24h": request.volume_24h}
    body = await make_analysis(state, symbol=request.symbol, timeframe_data=data, context=context)
    return JsonResponse(success(**body))
