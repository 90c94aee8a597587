"""The measured part of an analysis, from candles alone: indicators of the lead timeframe, each selected
strategy's score, the market analysis, and the trend of every timeframe sent."""

from typing import Any

from ai_svc.domain import assessment, indicators, technical
from ai_svc.domain.candles import STEPS, Candles
from ai_svc.strategies import Strategy
from ai_svc.strategies.rules import score, stances

# Indicators an analysis shows and hands to the LLM (the full set is in `indicators`).
SHOWN = ("rsi_14", "macd", "macd_signal", "macd_hist", "macd_cross", "bb_upper", "bb_middle", "bb_lower",
         "bb_percent_b", "atr_14", "adx_14", "ema_21", "ema_50", "sma_20", "sma_50", "stoch_rsi_k", "stoch_rsi_d",
         "volume_ratio")


def assess(candles: dict[str, Candles], lead: str, selected: tuple[Strategy, ...]) -> dict[str, Any]:
    """Indicators, strategy scores and stances, market analysis and per-timeframe trend (CPU-bound)."""
    lead_candles = candles[lead]
    series = indicators.series(lead_candles)
    values = indicators.at(series)
    stance = stances(lead_candles, series)
    frames = {}
    for timeframe, frame in candles.items():
        frame_values = values if timeframe == lead else indicators.compute(frame)
        frames[timeframe] = {"trend": technical.trend(frame_values, float(frame.c[-1])), "candles": len(frame),
                             "as_of": int(frame.t[-1]) + STEPS[timeframe], "close": float(frame.c[-1])}
    return {
        "values": values,
        "indicators": {name: values.get(name) for name in SHOWN},
        "strategy_scores": {s.name: score(float(stance[s.name][-1])) for s in selected},
        "market_analysis": assessment.market_analysis(lead_candles, values, series),
        "timeframes": frames,
    }
