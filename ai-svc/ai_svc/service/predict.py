"""POST /v1/predict: a forecast path from the newest closed candles of market-svc."""

import asyncio
from typing import Any

from dm_shared.clock import now_ms
from dm_shared.symbols import parse_pair

from ai_svc.domain.candles import TIMEFRAMES, Candles
from ai_svc.errors import InsufficientHistoryError, ModelUnavailableError
from ai_svc.forecast import features
from ai_svc.forecast.forecaster import Path
from ai_svc.service.modelinfo import model_info
from ai_svc.service.state import AiState

# Candles asked of market-svc: the model's history plus room for the candle in progress.
FETCH = features.min_history() + 31
# A median move smaller than this share of the interval's half-width is no direction.
NEUTRAL_SHARE = 0.1


def direction(anchor: float, median: float, low: float, high: float) -> str:
    """bullish / bearish by where the median lies, neutral when it is within noise of the anchor."""
    half = (high - low) / 2
    if half <= 0 or abs(median - anchor) < NEUTRAL_SHARE * half:
        return "neutral"
    return "bullish" if median > anchor else "bearish"


async def closed_candles(state: AiState, symbol: str, timeframe: str) -> tuple[Candles, dict[str, Any]]:
    """The newest closed candles of `symbol` with market-svc's source and provenance."""
    candles, origin = await state.market.fetch_candles(symbol, timeframe, limit=FETCH)
    closed = candles.closed(now_ms(), TIMEFRAMES[timeframe])
    if len(closed) < features.min_history():
        raise InsufficientHistoryError(f"{symbol} has {len(closed)} closed {timeframe} candles; a forecast needs "
                                       f"{features.min_history()}", details={"symbol": symbol})
    return closed, origin


def check_method(state: AiState, method: str) -> None:
    """MODEL_UNAVAILABLE when `method` needs the trained model and it did not load."""
    if method not in state.forecaster.methods():
        raise ModelUnavailableError(details={"model": method, "reason": state.model_status.get("reason"),
                                             "available": list(state.forecaster.methods())})


async def forecast_path(state: AiState, closed: Candles, method: str, horizon: int) -> Path:
    """The forecast, computed in a worker thread (the event loop keeps serving)."""
    check_method(state, method)
    return await asyncio.to_thread(state.forecaster.path, closed.c, closed.v, method, horizon)


async def predict(state: AiState, *, symbol: str, timeframe: str, horizon: int, method: str) -> dict[str, Any]:
    """The response body of a forecast request."""
    pair = str(parse_pair(symbol))
    check_method(state, method)  # before any upstream call
    closed, origin = await closed_candles(state, pair, timeframe)
    path = await forecast_path(state, closed, method, horizon)
    step_ms = TIMEFRAMES[timeframe]
    as_of = int(closed.t[-1]) + step_ms
    coverage = state.forecaster.card.get("coverage", 0.8)
    points = [{"step": h + 1, "timestamp": as_of + (h + 1) * step_ms, "price": float(path.median[h]),
               "confidence": coverage, "lower_bound": float(path.low[h]), "upper_bound": float(path.high[h])}
              for h in range(horizon)]
    return {"symbol": pair, "timeframe": timeframe, "horizon": horizon, "current_price": path.anchor,
            "as_of": as_of, "predictions": points, "model": model_info(state.forecaster, method, timeframe),
            "confidence": coverage,
            "direction": direction(path.anchor, points[-1]["price"], points[-1]["lower_bound"],
                                   points[-1]["upper_bound"]),
            "source": origin["source"], "provenance": origin["provenance"]}
