"""A signal's outcome from the candles that followed it.

Buy and sell: the first candle whose range reaches the stop or the target decides (both in one candle
counts as the stop: the candle does not say which came first); otherwise it expired, with the return
from entry to the last close before expiry. Hold: the range held when no candle left entry ± one ATR.
A hit is a target reached, a trade that expired in profit, or a range that held.
"""

from dataclasses import dataclass
from typing import Any

from ai_svc.domain.candles import Candles
from ai_svc.domain.signals import STOP_ATR


@dataclass
class Outcome:
    """How a signal ended."""

    result: str  # target_hit | stop_hit | expired | range_held | range_broken
    hit: bool
    return_pct: float  # in the signal's direction for buy and sell; the plain move for hold
    exit_price: float
    exit_time: int
    candles: int

    def fields(self) -> dict[str, Any]:
        return {"result": self.result, "hit": self.hit, "return_pct": round(self.return_pct, 6),
                "exit_price": self.exit_price, "exit_time": self.exit_time, "candles": self.candles}


def judge(kind: str, entry: float, target: float | None, stop: float | None, atr: float | None,
          candles: Candles) -> Outcome | None:
    """The outcome over `candles` (those from the signal to its expiry); None when there are none."""
    if len(candles) == 0:
        return None
    if kind in ("buy", "sell"):
        sign = 1.0 if kind == "buy" else -1.0
        for i in range(len(candles)):
            worst = candles.l[i] if kind == "buy" else candles.h[i]
            best = candles.h[i] if kind == "buy" else candles.l[i]
            if sign * (worst - stop) <= 0:
                return Outcome("stop_hit", False, sign * (stop / entry - 1), stop, int(candles.t[i]), i + 1)
            if sign * (best - target) >= 0:
                return Outcome("target_hit", True, sign * (target / entry - 1), target, int(candles.t[i]), i + 1)
        move = sign * (candles.c[-1] / entry - 1)
        return Outcome("expired", bool(move > 0), float(move), float(candles.c[-1]), int(candles.t[-1]),
                       len(candles))
    band = STOP_ATR * (atr or 0.0)
    held = bool(band > 0 and candles.h.max() <= entry + band and candles.l.min() >= entry - band)
    return Outcome("range_held" if held else "range_broken", held, float(candles.c[-1] / entry - 1),
                   float(candles.c[-1]), int(candles.t[-1]), len(candles))
