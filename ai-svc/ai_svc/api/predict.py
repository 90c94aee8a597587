"""Route: POST /v1/predict (spec 002 section 4.2)."""

from fastapi import APIRouter, Depends

from dm_shared.envelope import JsonResponse, success
from dm_shared.schemas import ERRORS, ErrorResponse

from ai_svc.api.deps import StateDep, capped_body
from ai_svc.schemas import PredictRequest, PredictResponse
from ai_svc.service.predict import predict as make_prediction

router = APIRouter(prefix="/v1")


@router.post("/predict", responses={200: {"model": PredictResponse}, 413: {"model": ErrorResponse}, **ERRORS},
             dependencies=[Depends(capped_body)],
             summary="Price forecast with calibrated 80 % intervals for each step up to the horizon")
async def predict(state: StateDep, request: PredictRequest) -> JsonResponse:
    body = await make_prediction(state, symbol=request.symbol, timeframe=request.timeframe, horizon=request.horizon,
                                 method=request.model)
    return JsonResponse(success(**body))
