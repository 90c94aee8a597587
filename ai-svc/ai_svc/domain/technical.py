"""The technical reading of an analysis: trend, its strength, key indicators in words, levels."""

from typing import Any

import numpy as np
import talib

from ai_svc.domain import indicators, levels
from ai_svc.domain.candles import Candles

# Volume ratio (volume / its 20-candle mean) above or below which volume counts as rising or falling.
VOLUME_RISING, VOLUME_FALLING = 1.2, 0.8
CROSS_WITHIN = 5


def trend(values: dict[str, Any], price: float) -> str:
    """bullish: price above EMA 50 and EMA 21 above EMA 50; bearish: both below; else neutral."""
    ema21, ema50 = values.get("ema_21"), values.get("ema_50")
    if ema21 is None or ema50 is None:
        return "neutral"
    if price > ema50 and ema21 > ema50:
        return "bullish"
    if price < ema50 and ema21 < ema50:
        return "bearish"
    return "neutral"


def strength(values: dict[str, Any]) -> float | None:
    """Trend strength 0-10: ADX 14 / 5 (ADX 25, the usual threshold of a trend, is 5), capped at 10."""
    adx = values.get("adx_14")
    return None if adx is None else round(min(10.0, adx / 5.0), 2)


def moving_averages(candles: Candles) -> str | None:
    """golden_cross / death_cross when SMA 20 crossed SMA 50 in the last few candles, else above / below."""
    diff = talib.SMA(candles.c, timeperiod=20) - talib.SMA(candles.c, timeperiod=50)
    recent = diff[-(CROSS_WITHIN + 1):]
    if len(recent) == 0 or np.isnan(recent).any():
        return None
    now = bool(recent[-1] > 0)
    if any(bool(d > 0) != now for d in recent[:-1]):
        return "golden_cross" if now else "death_cross"
    return "sma20_above_sma50" if now else "sma20_below_sma50"


def volume_trend(values: dict[str, Any]) -> str | None:
    """increasing / decreasing / stable from the volume ratio."""
    ratio = values.get("volume_ratio")
    if ratio is None:
        return None
    return "increasing" if ratio > VOLUME_RISING else "decreasing" if ratio < VOLUME_FALLING else "stable"


def read(candles: Candles) -> dict[str, Any]:
    """Trend, strength, support and resistance from swing points, and the key indicators."""
    values = indicators.compute(candles)
    price = float(candles.c[-1])
    merge = (values.get("atr_14") or 0.0) * 0.5
    support, resistance = levels.support_resistance(candles, price, merge)
    return {
        "trend": trend(values, price),
        "strength": strength(values),
        "support_levels": support,
        "resistance_levels": resistance,
        "key_indicators": {"rsi_14": values["rsi_14"], "macd": values["macd_cross"],
                           "moving_averages": moving_averages(candles), "volume": volume_trend(values)},
        "indicators": values,
        "price": price,
        "candles": len(candles),
        "as_of": int(candles.t[-1]),
    }
