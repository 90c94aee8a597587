"""The indicators of spec 004 ("Technical Indicators") and seed 003, computed with TA-Lib.

Every function reads candles oldest first and returns the value at the newest candle; a value TA-Lib
cannot compute yet (too few candles) is None, never a made-up number.
"""

import math
from typing import Any

import numpy as np
import talib

from ai_svc.domain.candles import Candles

# Periods as spec 004 names them.
SMA_PERIODS = (20, 50)
EMA_PERIODS = (9, 12, 21, 26, 50)
RSI_PERIOD = ATR_PERIOD = ADX_PERIOD = 14
BOLLINGER = {"timeperiod": 20, "nbdevup": 2.0, "nbdevdn": 2.0, "matype": talib.MA_Type.SMA}
STOCH = {"fastk_period": 14, "slowk_period": 3, "slowk_matype": talib.MA_Type.SMA, "slowd_period": 3,
         "slowd_matype": talib.MA_Type.SMA}
STOCH_RSI = {"timeperiod": 14, "fastk_period": 14, "fastd_period": 3, "fastd_matype": talib.MA_Type.SMA}
MACD = {"fastperiod": 12, "slowperiod": 26, "signalperiod": 9}
VOLUME_PERIOD = 20
# Candles the full set needs before its newest value is defined (EMA 50 and ADX 14 are the longest).
MIN_CANDLES = 100


def last(values: np.ndarray) -> float | None:
    """The newest value of a TA-Lib output, None while it is undefined."""
    if len(values) == 0:
        return None
    value = float(values[-1])
    return None if math.isnan(value) else value


def series(candles: Candles) -> dict[str, np.ndarray]:
    """Every indicator over the whole candle series (NaN where undefined): the backtest reads any candle."""
    h, l, c, v = candles.h, candles.l, candles.c, candles.v  # noqa: E741
    out: dict[str, np.ndarray] = {}
    for period in SMA_PERIODS:
        out[f"sma_{period}"] = talib.SMA(c, timeperiod=period)
    for period in EMA_PERIODS:
        out[f"ema_{period}"] = talib.EMA(c, timeperiod=period)
    out["rsi_14"] = talib.RSI(c, timeperiod=RSI_PERIOD)
    out["stoch_k"], out["stoch_d"] = talib.STOCH(h, l, c, **STOCH)
    out["stoch_rsi_k"], out["stoch_rsi_d"] = talib.STOCHRSI(c, **STOCH_RSI)
    out["macd"], out["macd_signal"], out["macd_hist"] = talib.MACD(c, **MACD)
    out["bb_upper"], out["bb_middle"], out["bb_lower"] = talib.BBANDS(c, **BOLLINGER)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["bb_width"] = (out["bb_upper"] - out["bb_lower"]) / out["bb_middle"]
        out["bb_percent_b"] = (c - out["bb_lower"]) / (out["bb_upper"] - out["bb_lower"])
    out["atr_14"] = talib.ATR(h, l, c, timeperiod=ATR_PERIOD)
    out["adx_14"] = talib.ADX(h, l, c, timeperiod=ADX_PERIOD)
    out["plus_di_14"] = talib.PLUS_DI(h, l, c, timeperiod=ADX_PERIOD)
    out["minus_di_14"] = talib.MINUS_DI(h, l, c, timeperiod=ADX_PERIOD)
    out["volume_sma_20"] = talib.SMA(v, timeperiod=VOLUME_PERIOD)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["volume_ratio"] = np.where(out["volume_sma_20"] > 0, v / out["volume_sma_20"], np.nan)
    return out


def at(values: dict[str, np.ndarray], i: int = -1) -> dict[str, Any]:
    """The indicators at candle i (default the newest), None where undefined, with the MACD cross."""
    end = i % len(values["macd"]) + 1 if len(values["macd"]) else 0
    out: dict[str, Any] = {name: last(column[:end]) for name, column in values.items()}
    out["macd_cross"] = macd_cross(values["macd"][:end], values["macd_signal"][:end])
    return out


def compute(candles: Candles) -> dict[str, Any]:
    """Every indicator's newest value, by name (rsi_14, macd, bb_upper ...)."""
    return at(series(candles))


def macd_cross(macd: np.ndarray, signal: np.ndarray, within: int = 3) -> str | None:
    """`bullish_crossover`/`bearish_crossover` when MACD crossed its signal in the last `within` candles,
    else `bullish`/`bearish` by which is above; None while undefined."""
    diff = (macd - signal)[-(within + 1):]
    if len(diff) == 0 or math.isnan(diff[-1]):
        return None
    side = bool(diff[-1] > 0)
    crossed = any(not math.isnan(d) and bool(d > 0) != side for d in diff[:-1])
    if crossed:
        return "bullish_crossover" if side else "bearish_crossover"
    return "bullish" if side else "bearish"
