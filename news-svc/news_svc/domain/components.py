"""The components of global sentiment we can compute from real data, each with its method stated.

alternative.me publishes only its index, not its components, so these are the suite's own figures from
BTC daily candles (market-svc), dominance (market-svc) and our scored news; where no source exists the
component is null with the reason.
"""

import itertools
import math
import statistics
from typing import Any


def _percentile_rank(value: float, series: list[float]) -> float:
    return round(100.0 * sum(v <= value for v in series) / len(series), 1)


def volatility(closes: list[float]) -> dict[str, Any] | None:
    """0-100, higher when BTC is calmer: 100 minus the percentile rank of today's 30-day volatility of daily
    log returns among the 30-day volatilities of the last 90 days (volatility reads as fear)."""
    if len(closes) < 61 or min(closes) <= 0:
        return None
    returns = [math.log(b / a) for a, b in itertools.pairwise(closes)][-90:]
    rolling = [statistics.pstdev(returns[i - 30:i]) for i in range(30, len(returns) + 1)]
    return {"value": round(100.0 - _percentile_rank(rolling[-1], rolling), 1),
            "raw": round(rolling[-1] * math.sqrt(365) * 100, 2), "sample_size": len(returns),
            "method": "100 - percentile rank of the current 30-day volatility of BTC daily log returns among the "
                      "rolling 30-day volatilities of the last 90 days; raw = current annualized volatility, %"}


def momentum(closes: list[float]) -> dict[str, Any] | None:
    """0-100: the percentile rank of BTC's 7-day return among the 7-day returns of the last 90 days."""
    if len(closes) < 30:
        return None
    window = closes[-91:]
    weekly = [b / a - 1 for a, b in zip(window, window[7:], strict=False)]
    return {"value": _percentile_rank(weekly[-1], weekly), "raw": round(weekly[-1] * 100, 2),
            "sample_size": len(weekly),
            "method": "percentile rank of BTC's 7-day return among its 7-day returns over the last 90 days; "
                      "raw = the current 7-day return, %"}


def social(scores: list[float]) -> dict[str, Any] | None:
    """0-100 from the mean sentiment score (-1..1) of the news of the last 24 hours."""
    if not scores:
        return None
    mean = statistics.fmean(scores)
    return {"value": round((mean + 1) * 50, 1), "raw": round(mean, 4), "sample_size": len(scores),
            "method": "(mean sentiment score of the articles published in the last 24 hours + 1) x 50; "
                      "raw = the mean score, -1 to 1"}


def label(score: float) -> str:
    """negative, neutral or positive for a mean score from -1 to 1 (neutral within +-0.1)."""
    return "positive" if score > 0.1 else "negative" if score < -0.1 else "neutral"


def fear_greed_sentiment(classification: str) -> str:
    """The spec's lower-case `sentiment` from alternative.me's classification ("Extreme Fear": extreme_fear)."""
    return classification.strip().lower().replace(" ", "_")
