"""What the forecast model sees and predicts, in numpy only (training, evaluation and the service share it).

At a closed candle i: the last WINDOW log returns divided by the volatility scale sigma (the standard
deviation of the last VOL_BARS returns), the log ratio of the last day's volatility to sigma, and the log
ratio of the last day's mean volume to the VOL_BARS mean. The target of step h is the log return from
close i to close i+h divided by sigma * sqrt(h): returns in units of the volatility a random walk with
that sigma would have, so one model serves calm and wild markets and its quantiles scale with both.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

WINDOW = 48
VOL_BARS = 168
SHORT_BARS = 24
H_MAX = 24
QUANTILES = (0.1, 0.5, 0.9)
N_FEATURES = WINDOW + 2
SIGMA_FLOOR = 1e-4
CLIP = 10.0


def min_history() -> int:
    """Closed candles needed for one forecast."""
    return VOL_BARS + 1


def _rolling_std(x: np.ndarray, n: int) -> np.ndarray:
    """std of x[j-n+1 .. j] at each j >= n-1 (population std, as numpy's default)."""
    return sliding_window_view(x, n).std(axis=-1)


def features(close: np.ndarray, volume: np.ndarray, ends: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows and sigma at candle indices `ends` (default: every index with enough history).

    Index i uses close[:i+1] and volume[:i+1] only.
    """
    r = np.diff(np.log(close))  # r[j-1] is the return into candle j
    first = VOL_BARS  # candle index of the first row: it needs VOL_BARS returns
    if ends is None:
        ends = np.arange(first, len(close))
    if len(ends) and ends.min() < first:
        raise ValueError(f"a forecast needs {first + 1} closed candles")
    sig_all = np.maximum(_rolling_std(r, VOL_BARS), SIGMA_FLOOR)  # index k <-> returns r[k .. k+VOL-1]
    short_all = np.maximum(_rolling_std(r, SHORT_BARS), SIGMA_FLOOR)
    lv = np.log1p(np.maximum(volume, 0.0))
    vmean_long = sliding_window_view(lv, VOL_BARS).mean(axis=-1)  # index k <-> candles k .. k+VOL-1
    vmean_short = sliding_window_view(lv, SHORT_BARS).mean(axis=-1)
    ri = ends - 1  # index in r of the newest return
    sigma = sig_all[ri - VOL_BARS + 1]
    windows = sliding_window_view(r, WINDOW)[ri - WINDOW + 1] / sigma[:, None]
    vol_ratio = np.log(short_all[ri - SHORT_BARS + 1] / sigma)
    volume_ratio = vmean_short[ends - SHORT_BARS + 1] - vmean_long[ends - VOL_BARS + 1]
    x = np.concatenate([np.clip(windows, -CLIP, CLIP), vol_ratio[:, None], volume_ratio[:, None]], axis=1)
    return x.astype(np.float32), sigma


def targets(close: np.ndarray, ends: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Normalized h-step returns (h = 1 .. H_MAX) from each end; the ends need H_MAX candles after them."""
    steps = np.arange(1, H_MAX + 1)
    future = np.log(close[ends[:, None] + steps[None, :]] / close[ends][:, None])
    return (future / (sigma[:, None] * np.sqrt(steps)[None, :])).astype(np.float32)


def step_scale(sigma: float, steps: int) -> np.ndarray:
    """sigma * sqrt(h) for h = 1 .. steps: turns normalized quantiles back into log returns."""
    return sigma * np.sqrt(np.arange(1, steps + 1))
