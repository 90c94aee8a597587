"""POST /v1/feedback: a trader's report of how a signal or analysis turned out, stored against its id; the
newest report labels that prediction in /ai/performance."""

import uuid
from typing import Any

from dm_shared.clock import now_ms
from dm_shared.symbols import parse_pair

from ai_svc.domain.performance import CALLS
from ai_svc.errors import FeedbackMismatchError, PredictionNotFoundError
from ai_svc.service.analyze import iso
from ai_svc.service.state import AiState

WORDS = {"long": "long", "short": "short", "neutral": "neutral", "buy": "long", "sell": "short", "hold": "neutral"}


async def record(state: AiState, *, signal_id: str, actual_outcome: str, symbol: str | None,
                 predicted_signal: str | None, profit_loss: float | None, confidence_was_accurate: bool | None,
                 feedback_notes: str | None, timestamp: int | None) -> dict[str, Any]:
    """Store one feedback; PREDICTION_NOT_FOUND for an unknown id, FEEDBACK_MISMATCH when it contradicts it."""
    kind, doc = "signal", await state.store.get(signal_id)
    if doc is None:
        kind, doc = "analysis", await state.analyses.get(signal_id)
    if doc is None:
        raise PredictionNotFoundError(f"No signal or analysis has the id {signal_id[:80]!r}",
                                      details={"signal_id": signal_id[:80]})
    call = CALLS[doc["type"]]
    if symbol is not None and str(parse_pair(symbol)) != doc["symbol"]:
        raise FeedbackMismatchError(f"{signal_id} is about {doc['symbol']}, not {symbol[:40]}",
                                    details={"signal_id": signal_id, "symbol": doc["symbol"]})
    if predicted_signal is not None and WORDS[predicted_signal.lower()] != call:
        raise FeedbackMismatchError(f"{signal_id} called {call}, not {predicted_signal}",
                                    details={"signal_id": signal_id, "signal": call})
    received = now_ms()
    feedback_id = f"fb_{uuid.uuid4().hex[:16]}"
    await state.feedback.insert({
        "_id": feedback_id, "prediction_id": signal_id, "kind": kind, "symbol": doc["symbol"], "call": call,
        "actual_outcome": actual_outcome, "profit_loss": profit_loss,
        "confidence_was_accurate": confidence_was_accurate, "feedback_notes": feedback_notes,
        "client_timestamp": timestamp, "received_at": received})
    return {"message": "Feedback received successfully", "signal_id": signal_id, "feedback_id": feedback_id,
            "prediction": {"kind": kind, "symbol": doc["symbol"], "signal": call, "made_at": doc["timestamp"]},
            "actual_outcome": actual_outcome, "received_at": received, "timestamp_iso": iso(received)}
