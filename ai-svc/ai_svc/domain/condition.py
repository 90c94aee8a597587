"""The market condition of spec 004 from measured trend, volatility and volume.

- Type: the change of the close over the window, first to last: `Trending Up` above +5 %, `Trending Down`
  below -5 %, else `Sideways` (spec 004's thresholds). Confidence: for a trend, 2 Phi(|z|) - 1 with
  z = log(last / first) / (sigma x sqrt(n)), sigma the standard deviation of the window's log returns, n their
  number (how unlikely a driftless random walk of that volatility makes the move); sideways: how far inside the
  band the change stays, 1 - |change| / 5 %.
- Phase: `Breakout` when the last close is beyond the high or low of the RANGE candles before it;
  `Consolidation` when the volatility of the last RANGE returns is below 0.8x that of the whole window (a quiet
  range); else `Active Trading`.
"""

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ai_svc.domain.candles import Candles

TREND_THRESHOLD = 0.05
RANGE = 20
QUIET = 0.8
MIN_CANDLES = RANGE + 2


@dataclass
class Condition:
    """What the candles say about the market."""

    condition_type: str
    confidence: float
    market_phase: str
    characteristics: list[str] = field(default_factory=list)
    measurements: dict[str, Any] = field(default_factory=dict)


def _pct(x: float) -> str:
    return f"{x * 100:+.2f} %"


def read(candles: Candles) -> Condition:
    """The condition of the window `candles` (at least MIN_CANDLES, oldest first)."""
    close, high, low, volume = candles.c, candles.h, candles.l, candles.v
    change = float(close[-1] / close[0] - 1.0)
    returns = np.diff(np.log(close))
    sigma = float(returns.std(ddof=1)) if len(returns) > 1 else 0.0
    z = math.log(close[-1] / close[0]) / (sigma * math.sqrt(len(returns))) if sigma > 0 else 0.0
    if change > TREND_THRESHOLD:
        kind, confidence = "Trending Up", math.erf(abs(z) / math.sqrt(2))
    elif change < -TREND_THRESHOLD:
        kind, confidence = "Trending Down", math.erf(abs(z) / math.sqrt(2))
    else:
        kind, confidence = "Sideways", 1.0 - abs(change) / TREND_THRESHOLD
    prior_high, prior_low = float(high[-RANGE - 1:-1].max()), float(low[-RANGE - 1:-1].min())
    recent = float(returns[-RANGE:].std(ddof=1))
    mean_volume = float(volume[-RANGE - 1:-1].mean())
    volume_ratio = float(volume[-1] / mean_volume) if mean_volume > 0 else None
    last = float(close[-1])
    characteristics = [f"Close {_pct(change)} over {len(close)} candles (trend beyond ±{TREND_THRESHOLD:.0%})"]
    if last > prior_high or last < prior_low:
        phase = "Breakout"
        side, level = ("above", prior_high) if last > prior_high else ("below", prior_low)
        characteristics.append(f"Close {last:.6g} {side} the {RANGE}-candle range ({side} {level:.6g})")
    elif sigma > 0 and recent < QUIET * sigma:
        phase = "Consolidation"
        characteristics.append(f"Volatility of the last {RANGE} candles {recent * 100:.3f} % per candle, below "
                               f"{QUIET}x the window's {sigma * 100:.3f} %")
    else:
        phase = "Active Trading"
        characteristics.append(f"Volatility of the last {RANGE} candles {recent * 100:.3f} % per candle "
                               f"(window {sigma * 100:.3f} %)")
    if volume_ratio is not None:
        characteristics.append(f"Last volume {volume_ratio:.2f}x its {RANGE}-candle mean")
    return Condition(
        condition_type=kind, confidence=round(max(0.0, min(1.0, confidence)), 4), market_phase=phase,
        characteristics=characteristics,
        measurements={"change_pct": round(change * 100, 6), "z": round(z, 4), "candles": len(close),
                      "volatility_pct": round(sigma * 100, 6), "recent_volatility_pct": round(recent * 100, 6),
                      "range_high": prior_high, "range_low": prior_low,
                      "volume_ratio": round(volume_ratio, 6) if volume_ratio is not None else None,
                      "first_close": float(close[0]), "last_close": last,
                      "first_candle": int(candles.t[0]), "last_candle": int(candles.t[-1])})
