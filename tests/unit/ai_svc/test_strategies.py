"""Strategies on recorded candles: each stance by hand from the indicator it reads, the MACD stance against
the analysis's own MACD cross, and the walk-forward return on a series small enough to add up by hand."""

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from ai_svc.domain import indicators
from ai_svc.domain.candles import Candles
from ai_svc.strategies import STRATEGIES, by_name
from ai_svc.strategies.backtest import walk
from ai_svc.strategies.rules import score, stances

HISTORY = Path(__file__).resolve().parents[3] / "sandbox" / "data" / "history" / "BTCUSDT_1h.csv"


@pytest.fixture(scope="module")
def candles() -> Candles:
    with HISTORY.open() as handle:
        return Candles.of(list(csv.DictReader(handle))[7000:7400])


def test_each_stance_follows_its_rule_at_every_candle(candles):
    values = indicators.series(candles)
    held = stances(candles, values)
    for i in range(100, len(candles)):
        rsi, b = values["rsi_14"][i], values["bb_percent_b"][i]
        assert held["RSI Strategy"][i] == pytest.approx(min(1, max(-1, (50 - rsi) / 20)))
        assert held["Bollinger Bands Strategy"][i] == pytest.approx(min(1, max(-1, (0.5 - b) * 2)))
        ratio, direction = values["volume_ratio"][i], np.sign(candles.c[i] - candles.o[i])
        assert held["Volume Strategy"][i] == pytest.approx(direction * min(1, max(0, ratio - 1)))
        price, ema21, ema50 = candles.c[i], values["ema_21"][i], values["ema_50"][i]
        trend = 1 if price > ema50 and ema21 > ema50 else -1 if price < ema50 and ema21 < ema50 else 0
        assert held["EMA Trend Strategy"][i] == trend
        cross = indicators.at(values, i)["macd_cross"]
        assert held["MACD Strategy"][i] == {"bullish_crossover": 1, "bullish": 0.5, "bearish": -0.5,
                                           "bearish_crossover": -1}[cross]


def test_stances_are_undefined_before_their_indicators_and_scores_say_so(candles):
    held = stances(candles, indicators.series(candles))
    assert math.isnan(held["RSI Strategy"][13]) and not math.isnan(held["RSI Strategy"][14])
    assert math.isnan(held["EMA Trend Strategy"][48]) and not math.isnan(held["EMA Trend Strategy"][49])
    assert score(float("nan")) is None and score(-1.0) == 0 and score(0.0) == 0.5 and score(1.0) == 1


def test_a_walk_forward_return_adds_up_by_hand():
    close = np.array([100.0, 110.0, 99.0, 99.0, 108.9])
    stance = np.array([np.nan, 1.0, -0.5, 0.0, 1.0])
    measured = walk(stance, close, start=0)
    # steps: nan -> 0 x +10 %, 1 x -10 %, -0.5 x 0 %, 0 x +10 %
    assert measured.steps == 4 and measured.positioned == 2
    assert measured.return_pct == pytest.approx(-10.0)
    assert measured.hit_rate == 0.0  # a short on an unchanged close earns nothing
    assert measured.mean_pct == pytest.approx(-5.0)
    held = np.array([-0.1, 0.0])
    assert measured.t_stat == pytest.approx(held.mean() / (held.std(ddof=1) / math.sqrt(2)), abs=1e-4)


def test_strategies_are_found_by_their_names():
    assert [s.name for s in STRATEGIES][:4] == ["RSI Strategy", "MACD Strategy", "Bollinger Bands Strategy",
                                                "Volume Strategy"]
    assert by_name("rsi  strategy") is STRATEGIES[0] and by_name("Astrology Strategy") is None
