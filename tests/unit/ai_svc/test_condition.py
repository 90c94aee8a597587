"""The market condition by its documented rules on series small enough to check by hand."""

import math

import numpy as np
import pytest

from ai_svc.domain import condition
from ai_svc.domain.candles import Candles


def series(closes, volumes=None, spread=0.001) -> Candles:
    closes = np.asarray(closes, dtype=float)
    opens = np.concatenate([[closes[0]], closes[:-1]])
    return Candles(t=np.arange(len(closes), dtype=np.int64) * 3_600_000, o=opens,
                   h=np.maximum(opens, closes) * (1 + spread), l=np.minimum(opens, closes) * (1 - spread), c=closes,
                   v=np.asarray(volumes if volumes is not None else np.ones(len(closes)), dtype=float))


def test_a_rise_beyond_five_percent_is_trending_up_with_the_random_walk_confidence():
    rng = np.random.default_rng(7)
    closes = 100 * np.exp(np.cumsum(np.concatenate([[0], 0.003 + rng.normal(0, 0.004, 39)])))
    found = condition.read(series(closes))
    change = closes[-1] / closes[0] - 1
    assert change > 0.05 and found.condition_type == "Trending Up"
    returns = np.diff(np.log(closes))
    z = math.log(closes[-1] / closes[0]) / (returns.std(ddof=1) * math.sqrt(len(returns)))
    assert found.confidence == pytest.approx(math.erf(abs(z) / math.sqrt(2)), abs=1e-4)
    assert found.measurements["change_pct"] == pytest.approx(change * 100, abs=1e-6)


def test_a_small_move_is_sideways_and_a_quiet_end_is_consolidation():
    rng = np.random.default_rng(3)
    noisy = rng.normal(0, 0.01, 30)
    quiet = rng.normal(0, 0.001, 20)
    closes = 100 * np.exp(np.cumsum(np.concatenate([[0], noisy, quiet])))
    closes[-1] = closes[-2]  # the last close inside the range
    found = condition.read(series(closes))
    change = closes[-1] / closes[0] - 1
    assert abs(change) < 0.05 and found.condition_type == "Sideways"
    assert found.confidence == pytest.approx(1 - abs(change) / 0.05, abs=1e-4)
    assert found.market_phase == "Consolidation"


def test_a_close_beyond_the_range_is_a_breakout():
    closes = [100 + (i % 2) for i in range(30)] + [104]
    found = condition.read(series(closes, volumes=[1] * 30 + [3]))
    assert found.market_phase == "Breakout" and found.measurements["volume_ratio"] == pytest.approx(3)
    assert any("above the 20-candle range" in c for c in found.characteristics)
