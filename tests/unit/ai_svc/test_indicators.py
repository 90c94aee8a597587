"""Indicators on recorded candles (the hourly BTC/USDT history), against hand computations and against
TA-Lib's own functions called with the periods spec 004 names."""

import csv
from pathlib import Path

import numpy as np
import pytest
import talib

from ai_svc.domain import indicators, levels, technical
from ai_svc.domain.candles import Candles

HISTORY = Path(__file__).resolve().parents[3] / "sandbox" / "data" / "history" / "BTCUSDT_1h.csv"


@pytest.fixture(scope="module")
def candles() -> Candles:
    with HISTORY.open() as handle:
        rows = list(csv.DictReader(handle))[5000:5300]  # 300 recorded hours of 2018-07
    return Candles.of(rows)


def test_moving_averages_and_bands_equal_hand_computations(candles):
    values = indicators.compute(candles)
    c, v = candles.c, candles.v
    assert values["sma_20"] == pytest.approx(c[-20:].mean(), rel=1e-12)
    assert values["sma_50"] == pytest.approx(c[-50:].mean(), rel=1e-12)
    for period in (9, 12, 21, 26, 50):  # TA-Lib seeds an EMA with the SMA of its first `period` closes
        ema, k = c[:period].mean(), 2 / (period + 1)
        for price in c[period:]:
            ema = price * k + ema * (1 - k)
        assert values[f"ema_{period}"] == pytest.approx(ema, rel=1e-9), period
    std = c[-20:].std()  # population standard deviation, as TA-Lib's BBANDS
    assert values["bb_middle"] == pytest.approx(c[-20:].mean(), rel=1e-12)
    assert values["bb_upper"] == pytest.approx(c[-20:].mean() + 2 * std, rel=1e-9)
    assert values["bb_lower"] == pytest.approx(c[-20:].mean() - 2 * std, rel=1e-9)
    assert values["volume_sma_20"] == pytest.approx(v[-20:].mean(), rel=1e-12)
    assert values["volume_ratio"] == pytest.approx(v[-1] / v[-20:].mean(), rel=1e-9)


def test_rsi_and_atr_equal_wilders_hand_computation(candles):
    values = indicators.compute(candles)
    change = np.diff(candles.c)
    gain, loss = np.clip(change, 0, None), np.clip(-change, 0, None)
    avg_gain, avg_loss = gain[:14].mean(), loss[:14].mean()
    for g, lo in zip(gain[14:], loss[14:], strict=True):
        avg_gain, avg_loss = (avg_gain * 13 + g) / 14, (avg_loss * 13 + lo) / 14
    assert values["rsi_14"] == pytest.approx(100 - 100 / (1 + avg_gain / avg_loss), rel=1e-9)
    h, lo, c = candles.h, candles.l, candles.c
    true_range = np.maximum(h[1:] - lo[1:], np.maximum(abs(h[1:] - c[:-1]), abs(lo[1:] - c[:-1])))
    atr = true_range[:14].mean()
    for tr in true_range[14:]:
        atr = (atr * 13 + tr) / 14
    assert values["atr_14"] == pytest.approx(atr, rel=1e-9)


def test_oscillators_equal_talib_with_the_documented_periods(candles):
    values = indicators.compute(candles)
    h, lo, c = candles.h, candles.l, candles.c
    k, d = talib.STOCH(h, lo, c, fastk_period=14, slowk_period=3, slowk_matype=0, slowd_period=3, slowd_matype=0)
    assert (values["stoch_k"], values["stoch_d"]) == (k[-1], d[-1])
    fk, fd = talib.STOCHRSI(c, timeperiod=14, fastk_period=14, fastd_period=3, fastd_matype=0)
    assert (values["stoch_rsi_k"], values["stoch_rsi_d"]) == (fk[-1], fd[-1])
    macd, signal, hist = talib.MACD(c, fastperiod=12, slowperiod=26, signalperiod=9)
    assert (values["macd"], values["macd_signal"], values["macd_hist"]) == (macd[-1], signal[-1], hist[-1])
    assert values["adx_14"] == talib.ADX(h, lo, c, timeperiod=14)[-1]
    assert values["plus_di_14"] == talib.PLUS_DI(h, lo, c, timeperiod=14)[-1]
    # Stochastic %K by hand: where the close sits in the 14-candle range, smoothed over 3, three times.
    raw = [(c[i] - lo[i - 13:i + 1].min()) / (h[i - 13:i + 1].max() - lo[i - 13:i + 1].min()) * 100
           for i in range(len(c) - 5, len(c))]
    assert values["stoch_k"] == pytest.approx(np.mean(raw[-3:]), rel=1e-9)


def test_too_few_candles_give_none_not_a_number(candles):
    values = indicators.compute(candles.head(10))
    assert values["sma_20"] is None and values["ema_50"] is None and values["adx_14"] is None
    assert values["sma_50"] is None and values["macd_cross"] is None


def test_swing_levels_and_the_technical_reading(candles):
    price = float(candles.c[-1])
    lows, highs = levels.swing_lows(candles), levels.swing_highs(candles)
    for value in lows:  # each swing low is the lowest of the 3 candles either side of it
        assert any(candles.l[i] == value == candles.l[i - 3:i + 4].min() for i in range(3, len(candles) - 3))
    reading = technical.read(candles)
    assert reading["support_levels"] == sorted(reading["support_levels"], reverse=True)
    assert all(s < price and s in lows for s in reading["support_levels"])
    assert all(r > price and r in highs for r in reading["resistance_levels"])
    values = reading["indicators"]
    expected = ("bullish" if price > values["ema_50"] and values["ema_21"] > values["ema_50"] else
                "bearish" if price < values["ema_50"] and values["ema_21"] < values["ema_50"] else "neutral")
    assert reading["trend"] == expected
    assert reading["strength"] == pytest.approx(min(10, values["adx_14"] / 5), abs=0.01)
