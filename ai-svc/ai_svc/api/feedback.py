"""Routes: POST /v1/feedback and GET /v1/performance (spec 004), performance computed from stored outcomes
and feedback."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from dm_shared.envelope import JsonResponse, success
from dm_shared.schemas import ERRORS, ErrorResponse

from ai_svc.api.deps import StateDep, candle_body
from ai_svc.service import feedback as feedback_service
from ai_svc.service import performance as performance_service
from ai_svc.trading_schemas import FeedbackRequest, FeedbackResponse, PerformanceResponse

router = APIRouter(prefix="/v1")


@router.post("/feedback",
             responses={200: {"model": FeedbackResponse}, 409: {"model": ErrorResponse},
                        413: {"model": ErrorResponse}, **ERRORS},
             dependencies=[Depends(candle_body)],
             summary="How a signal or analysis turned out for a trader; it labels that prediction in /performance")
async def feedback(state: StateDep, request: FeedbackRequest) -> JsonResponse:
    return JsonResponse(success(**await feedback_service.record(state, **request.model_dump())))


@router.get("/performance", responses={200: {"model": PerformanceResponse}, **ERRORS},
            summary="Accuracy, precision, recall and F1 of the stored signals and analyses from their outcomes "
                    "and feedback, with the counts they rest on")
async def performance(
    state: StateDep,
    model: Annotated[str | None, Query(min_length=1, max_length=120, description="Only this model's predictions "
                                                                                 "(names in `models`)")] = None,
    symbol: Annotated[str | None, Query(min_length=1, max_length=32, description="Only this pair")] = None,
    window_days: Annotated[int, Query(ge=1, le=365, description="Predictions made in the last N days")] = 30,
    until: Annotated[int | None, Query(ge=0, le=10**14, description="End of the window, unix ms (now)")] = None,
    by: Annotated[Literal["model", "symbol"] | None, Query(description="Also each model's or pair's figures")] = None,
) -> JsonResponse:
    body = await performance_service.report(state, model=model, symbol=symbol, window_days=window_days, until=until,
                                            by=by)
    return JsonResponse(success(**body))
