"""What a strategy earned on a symbol's recent candles, walked forward: at each closed candle i its stance
s_i (from candles up to i) is held over the next candle, earning s_i x (close_{i+1} / close_i - 1), before
fees. A stance of 0 or NaN holds nothing. Summed over the window, that is the strategy's measured return."""

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Measured:
    """A strategy's walk-forward figures over one window of candles."""

    return_pct: float  # sum of the per-candle returns, percent
    steps: int  # candles walked (each earns the next candle's move)
    positioned: int  # steps with a non-zero stance
    hit_rate: float | None  # share of positioned steps that earned more than 0
    mean_pct: float | None  # mean return of the positioned steps, percent
    t_stat: float | None  # mean / (standard deviation / sqrt(positioned))
    suitability: float  # Phi(t): how sure the mean is above zero; 0.5 without a t statistic

    def fields(self) -> dict:
        return {"return_pct": self.return_pct, "steps": self.steps, "positioned": self.positioned,
                "hit_rate": self.hit_rate, "mean_return_pct": self.mean_pct, "t_stat": self.t_stat}


def walk(stance: np.ndarray, close: np.ndarray, start: int) -> Measured:
    """Walk `stance` forward over closes from index `start` (its first step) to the second-to-last close."""
    s = np.nan_to_num(stance[start:-1], nan=0.0)
    moves = close[start + 1:] / close[start:-1] - 1.0
    earned = s * moves
    held = earned[s != 0]
    n = len(held)
    mean = float(held.mean()) if n else None
    sd = float(held.std(ddof=1)) if n > 1 else None
    t = mean / (sd / math.sqrt(n)) if mean is not None and sd else None
    return Measured(
        return_pct=round(float(earned.sum()) * 100, 6), steps=len(earned), positioned=n,
        hit_rate=round(float((held > 0).mean()), 6) if n else None,
        mean_pct=round(mean * 100, 6) if mean is not None else None,
        t_stat=round(t, 4) if t is not None else None,
        suitability=round(0.5 * (1 + math.erf(t / math.sqrt(2))), 4) if t is not None else 0.5)
