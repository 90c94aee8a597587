"""POST /v1/analyze and the periodic runner's analyses (spec 004's analysis): the indicator engine and the
forecast decide, the LLM decides instead when one is configured and its answer parses, and every analysis is
stored in MongoDB. A request whose input was analysed in the last AI_ANALYSIS_CACHE_SECONDS is answered
from the store, labelled cached with its age."""

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from dm_shared.clock import now_ms
from dm_shared.errors import ApiError
from dm_shared.symbols import parse_pair

from ai_svc.domain import analysis, assessment, calibration, signals
from ai_svc.domain.candles import STEPS, TIMEFRAMES
from ai_svc.forecast import features
from ai_svc.service import analysis_input, reasoning
from ai_svc.service.analysis_input import Input
from ai_svc.service.predict import forecast_path
from ai_svc.service.state import AiState
from ai_svc.strategies import Strategy, named

ENGINE = "indicator-engine"
FORECAST_METHOD = "ensemble"
BANDS_TTL = 60.0
RUNNER, API = "runner", "api"


def iso(ms: int) -> str:
    """Unix ms as spec 004's ISO 8601 strings."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def selected_strategies(context: dict[str, Any] | None) -> tuple[Strategy, ...]:
    """The strategies a request's strategy_context selects (all when it selects none)."""
    return named((context or {}).get("selected_strategies"))


async def _bands(state: AiState) -> dict[str, dict[str, int]]:
    cached = state.bands
    if cached is None or time.monotonic() - cached[0] > BANDS_TTL:
        try:
            state.bands = cached = (time.monotonic(), await state.store.band_counts())
        except ApiError:
            return cached[1] if cached else {}
    return cached[1]


async def _sentiment(state: AiState, inp_live: bool, base: str) -> tuple[dict[str, Any] | None, dict[str, str] | None]:
    if not inp_live:
        return None, {"code": "NOT_LIVE", "message": "the candles are historical: today's sentiment does not apply"}
    try:
        return await state.news.fetch_sentiment(base), None
    except ApiError as exc:
        return None, {"code": exc.code, "message": exc.message}


async def _forecast(state: AiState, inp: Input) -> tuple[signals.Forecast | None, dict[str, str] | None]:
    if inp.timeframe != "1h":
        return None, {"code": "NOT_AVAILABLE", "message": "the forecast model is hourly: send 1h candles"}
    if len(inp.lead) < features.min_history():
        message = f"a forecast needs {features.min_history()} closed 1h candles, the analysis has {len(inp.lead)}"
        return None, {"code": "INSUFFICIENT_HISTORY", "message": message}
    try:
        path = await forecast_path(state, inp.lead, FORECAST_METHOD, signals.HORIZON_CANDLES)
    except ApiError as exc:
        return None, {"code": exc.code, "message": exc.message}
    anchor = path.anchor
    return signals.Forecast(median=float(path.median[-1] / anchor - 1), low=float(path.low[-1] / anchor - 1),
                            high=float(path.high[-1] / anchor - 1), steps=signals.HORIZON_CANDLES), None


def _engine(measured: dict[str, Any], price: float, forecast: signals.Forecast | None,
            sentiment: dict[str, Any] | None, bands: tuple[dict, dict]) -> dict[str, Any]:
    decision = signals.decide(measured["values"], price, forecast, sentiment)
    confidence, basis = calibration.confidence(decision.type, decision.score, *bands)
    return {"signal": assessment.CALLS[decision.type], "confidence": confidence, "score": decision.score,
            "net_vote": decision.net, "reasoning": decision.reasoning, "votes": decision.votes,
            "calibration": basis, "type": decision.type}


def _variables(inp: Input, measured: dict[str, Any], engine: dict[str, Any], risk: dict[str, Any],
               forecast: signals.Forecast | None, forecast_reason: dict | None,
               context: dict[str, Any] | None) -> dict[str, Any]:
    market = {k: v for k, v in measured["market_analysis"].items() if k not in ("price", "atr_14", "volume_ratio")}
    as_of = int(inp.lead.t[-1]) + STEPS[inp.timeframe]
    return {"symbol": str(inp.pair), "timeframe": inp.timeframe, "as_of": iso(as_of), "price": float(inp.lead.c[-1]),
            "indicators": measured["indicators"], "strategy_scores": measured["strategy_scores"],
            "market_analysis": market, "risk_assessment": risk,
            "forecast": {"median": forecast.median, "low": forecast.low, "high": forecast.high} if forecast
            else f"not available: {forecast_reason['message']}",
            "forecast_steps": signals.HORIZON_CANDLES,
            "engine": {k: engine[k] for k in ("signal", "confidence", "reasoning")},
            "context": context or {}}


def from_stored(doc: dict[str, Any], now: int) -> dict[str, Any]:
    """A stored analysis answering a repeated request: labelled cached, with its age."""
    age = max(0, now - doc["timestamp"])
    body = {**doc["analysis"], **doc["details"], "cached": True, "age_ms": age}
    body.pop("timestamp", None)
    body["provenance"] = {**body["provenance"], "cached": True, "age_ms": age}
    return body


async def analyze(state: AiState, *, symbol: str, timeframe_data: dict[str, list[dict[str, float]]] | None = None,
                  context: dict[str, Any] | None = None, requested_by: str = API, slot: int | None = None,
                  wait_llm: float = 0.0) -> dict[str, Any]:
    """The answer to one analysis (without `success` and `timestamp`), stored before it is returned."""
    selected = selected_strategies(context)
    pair = parse_pair(symbol)
    if timeframe_data:
        inp = analysis_input.from_request(symbol, timeframe_data, context)
        if requested_by == API and (doc := await state.analyses.recent(inp.digest, _cache_since(state))):
            return from_stored(doc, now_ms())
        sentiment, sentiment_gap = await _sentiment(state, inp.live, pair.base)
    else:
        if requested_by == API and (doc := await state.analyses.recent(
                analysis_input.market_digest(state, pair, context), _cache_since(state))):
            return from_stored(doc, now_ms())
        inp, (sentiment, sentiment_gap) = await asyncio.gather(
            analysis_input.from_market(state, symbol, context), _sentiment(state, True, pair.base))
    measured = await asyncio.to_thread(analysis.assess, inp.candles, inp.timeframe, selected)
    forecast, forecast_gap = await _forecast(state, inp)
    price = float(inp.lead.c[-1])
    seed = (state.forecaster.card.get("signal_calibration") or {}).get("bands", {})
    engine = _engine(measured, price, forecast, sentiment, (seed, await _bands(state)))
    engine_risk = assessment.risk_assessment(engine["signal"], inp.lead, measured["market_analysis"])
    now = now_ms()
    analysis_id = (f"ana_{inp.pair.token}_{inp.timeframe}_{slot}" if requested_by == RUNNER and slot is not None
                   else f"ana_{uuid.uuid4().hex[:16]}")
    verdict, llm = await reasoning.consult(
        state, symbol=str(inp.pair), analysis_id=analysis_id, wait=wait_llm,
        variables=_variables(inp, measured, engine, engine_risk, forecast, forecast_gap, context))
    call = verdict.signal if verdict else engine["signal"]
    risk = engine_risk if call == engine["signal"] else assessment.risk_assessment(
        call, inp.lead, measured["market_analysis"])
    missing = {**inp.missing, **({"sentiment": sentiment_gap} if sentiment_gap else {}),
               **({"forecast": forecast_gap} if forecast_gap else {})}
    decided_by = "llm" if verdict else ENGINE
    model = f"llm:{state.llm.model}" if verdict else ENGINE
    spec = {"signal": call, "confidence": verdict.confidence if verdict else engine["confidence"],
            "reasoning": verdict.reasoning if verdict else "; ".join(engine["reasoning"]),
            "strategy_scores": measured["strategy_scores"], "market_analysis": measured["market_analysis"],
            "risk_assessment": risk, "timestamp": now}
    details = {
        "id": analysis_id, "symbol": str(inp.pair), "analysed_at": now, "analysed_at_iso": iso(now),
        "decided_by": decided_by, "model": model,
        "engine": {k: v for k, v in engine.items() if k != "type"}, "llm": llm,
        "forecast": {"steps": forecast.steps, "median_return": forecast.median, "low_return": forecast.low,
                     "high_return": forecast.high} if forecast else None,
        "timeframe": inp.timeframe, "timeframes": measured["timeframes"], "candles": len(inp.lead),
        "as_of": int(inp.lead.t[-1]) + STEPS[inp.timeframe], "indicators": measured["indicators"],
        "missing": missing, "source": inp.source, "provenance": inp.provenance,
    }
    judged = inp.live and inp.timeframe in TIMEFRAMES
    life = state.settings.analysis_expiry_seconds
    doc = {
        "_id": analysis_id, "symbol": str(inp.pair), "timestamp": now, "created_at": datetime.now(UTC),
        "input_digest": inp.digest, "input": "client" if inp.source == analysis_input.CLIENT else "market-svc",
        "requested_by": requested_by, "slot": slot, "analysis": spec, "details": details,
        "type": assessment.KINDS[call], "confidence": spec["confidence"], "model": model, "timeframe": inp.timeframe,
        "entry_price": price, "target_price": risk["take_profit_suggestion"], "stop_loss": risk["stop_loss_suggestion"],
        "atr": measured["market_analysis"]["atr_14"],
        "expires_at": now + int(life * 1000) if life else now + signals.HORIZON_CANDLES * STEPS[inp.timeframe],
        "status": "open" if judged else "not_judged", "outcome": None,
        "published": False if requested_by == RUNNER else None, "producer": state.replica,
    }
    await state.analyses.insert(doc)
    body = {**spec, **details, "cached": False, "age_ms": 0}
    body.pop("timestamp")
    return body


def _cache_since(state: AiState) -> int:
    return now_ms() - int(state.settings.analysis_cache_seconds * 1000)
