"""Split-conformal calibration of quantile intervals (conformalized quantile regression, Romano et al. 2019).

On held-out data, each interval's conformity score is how far the outcome fell outside it (negative
inside); widening every interval by the (1 - alpha) empirical quantile of those scores gives intervals
that cover 1 - alpha of exchangeable new outcomes. Scores are in normalized-return units, so the widening
scales with each forecast's volatility.
"""

import math

import numpy as np


def scores(low: np.ndarray, high: np.ndarray, y: np.ndarray) -> np.ndarray:
    """max(low - y, y - high) per sample (and step)."""
    return np.maximum(low - y, y - high)


def correction(low: np.ndarray, high: np.ndarray, y: np.ndarray, coverage: float) -> np.ndarray:
    """Per step (last axis), the widening that makes the intervals cover `coverage` of the held-out set."""
    s = np.sort(scores(low, high, y), axis=0)
    n = s.shape[0]
    rank = min(n, math.ceil((n + 1) * coverage)) - 1
    return s[rank]


def covered(low: np.ndarray, high: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Whether each outcome fell inside its interval."""
    return (y >= low) & (y <= high)
