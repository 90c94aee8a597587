"""GET /v1/performance: spec 004's figures computed from the stored signals and analyses of a window, their
recorded outcomes and the feedback on them (ai_svc.domain.performance has the rules), per model and per
symbol on request."""

from typing import Any

from dm_shared.clock import now_ms
from dm_shared.symbols import parse_pair

from ai_svc.domain import performance
from ai_svc.domain.performance import CALLS, Prediction
from ai_svc.service.analyze import RUNNER, iso
from ai_svc.service.state import AiState

DAY_MS = 86_400_000


def _prediction(doc: dict[str, Any], kind: str, model: str) -> Prediction:
    outcome = doc.get("outcome") or {}
    return Prediction(id=doc["_id"], kind=kind, symbol=doc["symbol"], model=model, call=CALLS[doc["type"]],
                      confidence=doc.get("confidence"), made_at=doc["timestamp"], hit=outcome.get("hit"),
                      judged_at=outcome.get("judged_at"))


def _figures(predictions: list[Prediction], runner_slots: set[tuple[int, str]], interval_ms: int) -> dict[str, Any]:
    body = performance.figures(predictions)
    uptime, basis = performance.uptime(runner_slots, interval_ms)
    reasons = body.pop("reasons")
    if uptime is None:
        reasons["model_uptime"] = "the periodic runner stored no analysis in the window"
    last = body["last_updated_ms"]
    return {**body, "model_uptime": uptime, "uptime_basis": basis, "last_updated": iso(last) if last else None,
            "reasons": reasons}


async def report(state: AiState, *, model: str | None, symbol: str | None, window_days: int, until: int | None,
                 by: str | None) -> dict[str, Any]:
    """The response body."""
    end = until if until is not None else now_ms()
    start = end - window_days * DAY_MS
    pair = str(parse_pair(symbol)) if symbol else None
    signal_docs = await state.store.predictions(start, end)
    analysis_docs = await state.analyses.predictions(start, end)
    predictions = [_prediction(d, "signal", (d.get("model") or {}).get("name", "unknown")) for d in signal_docs]
    predictions += [_prediction(d, "analysis", d.get("model", "unknown")) for d in analysis_docs]
    runner = {d["_id"]: (d["slot"], d["symbol"]) for d in analysis_docs
              if d.get("requested_by") == RUNNER and d.get("slot") is not None}
    feedback = await state.feedback.latest([p.id for p in predictions])
    # An analysis of historical candles a client sent predicts nothing that can still happen: it counts only
    # when feedback labels it.
    historical = {d["_id"] for d in analysis_docs if d.get("status") == "not_judged"}
    predictions = [Prediction(**{**p.__dict__, "feedback": feedback[p.id]["actual_outcome"],
                                 "feedback_at": feedback[p.id]["received_at"]}) if p.id in feedback else p
                   for p in predictions if p.id in feedback or p.id not in historical]
    models: dict[str, int] = {}
    symbols: dict[str, int] = {}
    for p in predictions:
        models[p.model] = models.get(p.model, 0) + 1
        symbols[p.symbol] = symbols.get(p.symbol, 0) + 1
    chosen = [p for p in predictions if (model is None or p.model == model) and (pair is None or p.symbol == pair)]
    interval = int(state.settings.analysis_interval_seconds * 1000)

    def slots(group: list[Prediction]) -> set[tuple[int, str]]:
        return {runner[p.id] for p in group if p.id in runner}

    body = _figures(chosen, slots(chosen), interval)
    breakdown = None
    if by:
        keys = sorted({p.model if by == "model" else p.symbol for p in chosen})
        breakdown = []
        for key in keys:
            group = [p for p in chosen if (p.model if by == "model" else p.symbol) == key]
            breakdown.append({"key": key, **_figures(group, slots(group), interval)})
    return {**body, "window": {"start": start, "end": end, "days": window_days},
            "filters": {"model": model, "symbol": pair}, "models": models, "symbols": symbols,
            "by": by, "breakdown": breakdown}
