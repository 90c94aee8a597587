"""Performance of the predictions (signals and analyses) from how they turned out, never from constants.

Each prediction is a call: long (buy, Long), short (sell, Short) or neutral (hold, Neutral). Its label is
the newest feedback about it when there is one (what a trader who acted on it reports), else its recorded
outcome (ai_svc.domain.outcomes); without either it is pending. As a binary question, "was there a trade to
take, and did the call take it":

| call | label | counts as |
|---|---|---|
| long / short | outcome hit (target reached or expired in profit), or feedback PROFIT | TP |
| long / short | outcome missed, or feedback LOSS or NEUTRAL | FP |
| neutral | outcome range held, or feedback NEUTRAL or LOSS | TN |
| neutral | outcome range broken, or feedback PROFIT (a move it stayed out of) | FN |

accuracy = (TP + TN) / labelled, precision = TP / (TP + FP), recall = TP / (TP + FN), F1 their harmonic
mean. A figure whose denominator is 0 is null, with the reason.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

CALLS = {"buy": "long", "sell": "short", "hold": "neutral", "Long": "long", "Short": "short", "Neutral": "neutral"}
OUTCOMES = ("PROFIT", "LOSS", "NEUTRAL")


@dataclass(frozen=True)
class Prediction:
    """A stored signal or analysis as performance reads it."""

    id: str
    kind: str  # signal | analysis
    symbol: str
    model: str
    call: str  # long | short | neutral
    confidence: float | None
    made_at: int
    hit: bool | None  # the recorded outcome, None while pending or unresolved
    judged_at: int | None
    feedback: str | None = None  # the newest feedback's actual_outcome
    feedback_at: int | None = None


def verdict(p: Prediction) -> tuple[str, str] | None:
    """(TP|FP|TN|FN, 'feedback'|'outcome'), or None while the prediction has no label."""
    if p.feedback is not None:
        source = "feedback"
        right = p.feedback == "PROFIT" if p.call != "neutral" else p.feedback != "PROFIT"
    elif p.hit is not None:
        source, right = "outcome", p.hit
    else:
        return None
    if p.call == "neutral":
        return ("TN" if right else "FN"), source
    return ("TP" if right else "FP"), source


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 6) if denominator else None


def figures(predictions: Iterable[Prediction]) -> dict[str, Any]:
    """Spec 004's figures over `predictions`, the counts they rest on, and why any figure is null."""
    counts = {"TP": 0, "FP": 0, "TN": 0, "FN": 0}
    made = labelled = from_feedback = 0
    confidences: list[float] = []
    last = None
    for p in predictions:
        made += 1
        if p.confidence is not None:
            confidences.append(p.confidence)
        judged = verdict(p)
        if judged is None:
            continue
        label, source = judged
        counts[label] += 1
        labelled += 1
        from_feedback += source == "feedback"
        stamp = p.feedback_at if source == "feedback" else p.judged_at
        if stamp is not None and (last is None or stamp > last):
            last = stamp
    tp, fp, tn, fn = counts["TP"], counts["FP"], counts["TN"], counts["FN"]
    accuracy, precision, recall = _ratio(tp + tn, labelled), _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = round(2 * precision * recall / (precision + recall), 6) if precision and recall else None
    reasons: dict[str, str] = {}
    if not labelled:
        why = ("no prediction in the window has a recorded outcome or feedback yet" if made
               else "no prediction was made in the window")
        for name in ("overall_accuracy", "precision", "recall", "f1_score", "last_updated"):
            reasons[name] = why
    else:
        if precision is None:
            reasons["precision"] = "no long or short call in the window has an outcome or feedback yet"
        if recall is None:
            reasons["recall"] = "no labelled call had a trade to take (no long/short hit and no neutral call missed)"
        if f1 is None:
            reasons["f1_score"] = "precision or recall is null or 0"
    if not confidences:
        reasons["average_confidence"] = "no prediction was made in the window"
    return {
        "overall_accuracy": accuracy, "precision": precision, "recall": recall, "f1_score": f1,
        "predictions_made": made, "successful_predictions": tp + tn,
        "average_confidence": round(sum(confidences) / len(confidences), 6) if confidences else None,
        "last_updated_ms": last,
        "counts": {"predictions": made, "labelled": labelled, "pending": made - labelled,
                   "from_outcomes": labelled - from_feedback, "from_feedback": from_feedback,
                   "true_positive": tp, "false_positive": fp, "true_negative": tn, "false_negative": fn},
        "reasons": reasons,
    }


def uptime(slots: set[tuple[int, str]], interval_ms: int) -> tuple[str | None, dict[str, Any]]:
    """The periodic runner's share of (slot, symbol) analyses made, from its first to its last slot in the
    window over the symbols it analysed there, as `99.5%`; None without any."""
    if not slots:
        return None, {"slots": 0, "symbols": 0, "made": 0, "expected": 0}
    times = [slot for slot, _ in slots]
    symbols = {symbol for _, symbol in slots}
    expected = ((max(times) - min(times)) // interval_ms + 1) * len(symbols)
    share = len(slots) / expected
    return f"{share * 100:.1f}%", {"slots": (max(times) - min(times)) // interval_ms + 1, "symbols": len(symbols),
                                   "made": len(slots), "expected": expected}
