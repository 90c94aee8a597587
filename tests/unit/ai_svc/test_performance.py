"""Performance by its documented table: each call and label, feedback over outcomes, nulls with reasons."""

import pytest

from ai_svc.domain.performance import Prediction, figures, uptime, verdict


def p(call: str, hit: bool | None = None, feedback: str | None = None, confidence: float = 0.5, i: int = 0):
    return Prediction(id=f"p{i}", kind="signal", symbol="BTC/USDT", model="m", call=call, confidence=confidence,
                      made_at=i, hit=hit, judged_at=100 + i if hit is not None else None, feedback=feedback,
                      feedback_at=200 + i if feedback else None)


@pytest.mark.parametrize("call, hit, feedback, expected", [
    ("long", True, None, "TP"), ("short", False, None, "FP"), ("neutral", True, None, "TN"),
    ("neutral", False, None, "FN"), ("long", True, "LOSS", "FP"), ("short", False, "PROFIT", "TP"),
    ("long", None, "NEUTRAL", "FP"), ("neutral", True, "PROFIT", "FN"), ("neutral", False, "LOSS", "TN"),
    ("neutral", None, "NEUTRAL", "TN"), ("long", None, None, None)])
def test_each_call_and_label_counts_as_the_table_says(call, hit, feedback, expected):
    found = verdict(p(call, hit, feedback))
    assert (found[0] if found else None) == expected
    if found:
        assert found[1] == ("feedback" if feedback else "outcome")


def test_figures_and_the_counts_they_rest_on():
    predictions = [p("long", True, i=1, confidence=0.6), p("long", False, i=2, confidence=0.4),
                   p("short", True, i=3), p("neutral", True, i=4), p("neutral", False, i=5),
                   p("long", None, i=6, confidence=0.9), p("short", False, "PROFIT", i=7)]
    body = figures(predictions)
    # TP: 1, 3, 7 (feedback); FP: 2; TN: 4; FN: 5; pending: 6
    assert body["counts"] == {"predictions": 7, "labelled": 6, "pending": 1, "from_outcomes": 5, "from_feedback": 1,
                              "true_positive": 3, "false_positive": 1, "true_negative": 1, "false_negative": 1}
    assert body["overall_accuracy"] == pytest.approx(4 / 6, abs=1e-6)
    assert body["precision"] == pytest.approx(3 / 4) and body["recall"] == pytest.approx(3 / 4)
    assert body["f1_score"] == pytest.approx(0.75) and body["successful_predictions"] == 4
    assert body["average_confidence"] == pytest.approx((0.6 + 0.4 + 0.5 * 4 + 0.9) / 7, abs=1e-6)
    assert body["last_updated_ms"] == 207 and body["reasons"] == {}


def test_no_outcome_means_null_figures_with_the_reason_never_a_constant():
    body = figures([p("long", None, i=1), p("neutral", None, i=2)])
    for name in ("overall_accuracy", "precision", "recall", "f1_score"):
        assert body[name] is None and "no prediction in the window has a recorded outcome" in body["reasons"][name]
    assert body["predictions_made"] == 2 and body["average_confidence"] == 0.5
    empty = figures([])
    assert empty["average_confidence"] is None and "no prediction was made" in empty["reasons"]["overall_accuracy"]
    only_neutral = figures([p("neutral", True)])
    assert only_neutral["overall_accuracy"] == 1 and only_neutral["precision"] is None
    assert "long or short" in only_neutral["reasons"]["precision"]


def test_uptime_is_the_share_of_slots_with_an_analysis():
    slots = {(0, "BTC"), (0, "ETH"), (300, "BTC"), (600, "BTC"), (600, "ETH")}
    share, basis = uptime(slots, 300)
    assert share == "83.3%" and basis == {"slots": 3, "symbols": 2, "made": 5, "expected": 6}
    assert uptime(set(), 300)[0] is None
