"""The forecast methods a request may name, each as normalized quantiles (n, H_MAX, 3) from features.

- baseline: the random walk with empirical volatility: median return 0, outer quantiles those of a
  normal distribution with the volatility of the last VOL_BARS candles (then conformally widened).
- trained: the quantile network trained by scripts/train_forecast.py.
- ensemble: the mean of the two (then conformally widened on its own).
"""

from collections.abc import Callable

import numpy as np

from ai_svc.forecast.features import H_MAX

METHODS = ("baseline", "trained", "ensemble")
# Standard normal quantiles at 10 % and 90 %.
Z_80 = 1.2815515655446004

Net = Callable[[np.ndarray], np.ndarray]


def baseline(n: int) -> np.ndarray:
    """The random walk's normalized quantiles for n forecasts."""
    row = np.array([-Z_80, 0.0, Z_80], dtype=np.float32)
    return np.broadcast_to(row, (n, H_MAX, 3)).copy()


def quantiles(method: str, x: np.ndarray, net: Net | None) -> np.ndarray:
    """Uncalibrated normalized quantiles of `method` for feature rows x."""
    if method == "baseline":
        return baseline(len(x))
    if net is None:
        raise ValueError(f"method {method} needs the trained network")
    trained = net(x)
    if method == "trained":
        return trained
    return (trained + baseline(len(x))) / 2.0


def calibrated(raw: np.ndarray, widen: np.ndarray) -> np.ndarray:
    """Quantiles with the conformal widening of each step applied to the outer two."""
    out = raw.copy()
    out[..., 0] -= widen
    out[..., 2] += widen
    return out
