"""Routes: GET /v1/info, GET /v1/strategies, POST /v1/strategy-recommendations, POST /v1/market-condition
(spec 004)."""

from fastapi import APIRouter, Depends

from dm_shared.envelope import JsonResponse, success
from dm_shared.schemas import ERRORS, ErrorResponse

from ai_svc.api.deps import StateDep, candle_body
from ai_svc.domain.candles import STEPS
from ai_svc.service import market_condition, recommendations
from ai_svc.service.reasoning import NOT_CONFIGURED
from ai_svc.strategies import STRATEGIES
from ai_svc.trading_schemas import (
    InfoResponse,
    MarketConditionRequest,
    MarketConditionResponse,
    RecommendationsRequest,
    RecommendationsResponse,
    StrategiesResponse,
)
from ai_svc.version import VERSION

router = APIRouter(prefix="/v1")
CAPABILITIES = ["trend_analysis", "signal_generation", "risk_assessment", "strategy_recommendation",
                "market_condition_detection", "price_forecast", "performance_tracking"]


@router.get("/info", responses={200: {"model": InfoResponse}, **ERRORS},
            summary="What the AI service runs: models, LLM, strategies, symbols and timeframes")
async def info(state: StateDep) -> JsonResponse:
    card = state.forecaster.card
    settings = state.settings
    if state.llm is not None:
        llm = {"configured": True, **await state.llm.status(), "reason": None}
    else:
        llm = {"configured": False, "model": None, "url": None, "keys": [], "calls": 0, "answered": 0,
               "last_error": None, "min_interval_seconds": settings.llm_min_interval_seconds,
               "response_format": settings.llm_response_format, "reason": NOT_CONFIGURED}
    forecast = f"{card.get('name', 'random-walk')} {card.get('version', '')}".strip()
    model_version = f"{settings.llm_model} (LLM), indicator engine, {forecast}" if state.llm else \
        f"indicator engine, {forecast}"
    return JsonResponse(success(
        service_name="Dreammaker AI trading service (ai-svc)", version=VERSION, model_version=model_version,
        supported_timeframes=list(STEPS), supported_symbols=list(settings.tracked_symbols), capabilities=CAPABILITIES,
        last_trained=None, trained_on=card.get("trained_on"), strategies=[s.name for s in STRATEGIES],
        analysis_interval_minutes=settings.analysis_interval_seconds / 60, llm=llm))


@router.get("/strategies", responses={200: {"model": StrategiesResponse}, **ERRORS},
            summary="The trading strategies, each scored from the indicators")
async def strategies() -> JsonResponse:
    return JsonResponse(success(strategies=[s.name for s in STRATEGIES], details=[
        {"name": s.name, "style": s.style, "description": s.description, "indicators": list(s.indicators)}
        for s in STRATEGIES]))


@router.post("/strategy-recommendations",
             responses={200: {"model": RecommendationsResponse}, 413: {"model": ErrorResponse}, **ERRORS},
             dependencies=[Depends(candle_body)],
             summary="Strategies ranked by what they earned on the pair's recent candles (walk-forward)")
async def strategy_recommendations(state: StateDep, request: RecommendationsRequest) -> JsonResponse:
    data = request.model_dump(include={"timeframe_data"})["timeframe_data"]
    body = await recommendations.recommend(state, symbol=request.symbol, timeframe_data=data,
                                           available=request.available_strategies)
    return JsonResponse(success(**body))


@router.post("/market-condition",
             responses={200: {"model": MarketConditionResponse}, 413: {"model": ErrorResponse}, **ERRORS},
             dependencies=[Depends(candle_body)],
             summary="Condition type and phase from the measured trend, volatility and volume")
async def condition(state: StateDep, request: MarketConditionRequest) -> JsonResponse:
    data = request.model_dump(include={"timeframe_data"})["timeframe_data"]
    return JsonResponse(success(**await market_condition.market_condition(state, symbol=request.symbol,
                                                                          timeframe_data=data)))
