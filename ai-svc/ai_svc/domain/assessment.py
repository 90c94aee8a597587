"""The market analysis and risk assessment of spec 004's analyze answer, measured on the candles.

- trend_direction: Bullish when price and EMA 21 are above EMA 50, Bearish when both below, else Neutral;
  trend_strength: ADX 14 / 50, capped at 1.
- volatility_level: where the newest ATR 14 (as a share of price) ranks among the window's: Low in the
  lowest third, High in the highest, else Medium; technical_risk is that rank (0..1).
- market_risk: the deepest fall from a peak of the window's closes (0..1).
- overall_risk: High when technical_risk > 2/3 or market_risk > 0.2; Low when technical_risk < 1/3 and
  market_risk < 0.1; else Medium.
- stop and target: 1 ATR against and 1.5 ATR with the call (none for Neutral); position size: the share of
  capital that loses RISK_PER_TRADE of it at the stop, at most all of it.
"""

from typing import Any

import numpy as np

from ai_svc.domain import levels, technical
from ai_svc.domain.candles import Candles
from ai_svc.domain.signals import STOP_ATR, TARGET_ATR

RISK_PER_TRADE = 0.01
KINDS = {"Long": "buy", "Short": "sell", "Neutral": "hold"}
CALLS = {kind: call for call, kind in KINDS.items()}


def rank(values: np.ndarray, value: float) -> float | None:
    """Share of the defined `values` at or below `value`."""
    defined = values[~np.isnan(values)]
    return round(float((defined <= value).mean()), 4) if len(defined) else None


def drawdown(close: np.ndarray) -> float:
    """The deepest fall from a running peak, as a fraction of the peak."""
    peaks = np.maximum.accumulate(close)
    return round(float(((peaks - close) / peaks).max()), 6)


def market_analysis(candles: Candles, values: dict[str, Any], series: dict[str, np.ndarray]) -> dict[str, Any]:
    """Trend, levels, volatility and volume of the newest candle, in spec 004's fields."""
    price = float(candles.c[-1])
    atr = values.get("atr_14")
    support, resistance = levels.support_resistance(candles, price, (atr or 0.0) * 0.5)
    atr_share = series["atr_14"] / candles.c
    volatility = rank(atr_share, atr / price) if atr else None
    adx = values.get("adx_14")
    ratio = values.get("volume_ratio")
    direction = "rising" if candles.c[-1] > candles.o[-1] else "falling" if candles.c[-1] < candles.o[-1] else "flat"
    if ratio is None:
        volume = "Volume not measurable yet (fewer than 20 candles with volume)"
    else:
        reading = ("accumulation" if direction == "rising" else "distribution" if direction == "falling"
                   else "no direction") if ratio > 1.2 else "no conviction" if ratio < 0.8 else "normal participation"
        volume = f"Volume {ratio:.2f}x its 20-candle mean on a {direction} candle ({reading})"
    return {
        "trend_direction": {"bullish": "Bullish", "bearish": "Bearish"}.get(technical.trend(values, price), "Neutral"),
        "trend_strength": round(min(1.0, adx / 50.0), 4) if adx is not None else None,
        "support_levels": support, "resistance_levels": resistance,
        "volatility_level": None if volatility is None else "Low" if volatility < 1 / 3 else "High"
        if volatility > 2 / 3 else "Medium",
        "volume_analysis": volume,
        "volatility_rank": volatility,
        "atr_14": atr, "volume_ratio": ratio, "price": price,
    }


def risk_assessment(call: str, candles: Candles, analysis: dict[str, Any]) -> dict[str, Any]:
    """Risk of acting on `call` (Long, Short, Neutral) at the newest close."""
    price, atr = analysis["price"], analysis["atr_14"]
    technical_risk = analysis["volatility_rank"]
    market_risk = drawdown(candles.c)
    if (technical_risk is not None and technical_risk > 2 / 3) or market_risk > 0.2:
        overall = "High"
    elif technical_risk is not None and technical_risk < 1 / 3 and market_risk < 0.1:
        overall = "Low"
    else:
        overall = "Medium"
    stop = target = None
    size = 0.0
    if call != "Neutral" and atr:
        sign = 1.0 if call == "Long" else -1.0
        stop, target = price - sign * STOP_ATR * atr, price + sign * TARGET_ATR * atr
        size = round(min(1.0, RISK_PER_TRADE / (STOP_ATR * atr / price)), 6)
    return {"overall_risk": overall, "technical_risk": technical_risk, "market_risk": market_risk,
            "recommended_position_size": size, "stop_loss_suggestion": stop, "take_profit_suggestion": target,
            "risk_per_trade": RISK_PER_TRADE}
