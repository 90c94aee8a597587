"""Support and resistance from swing points: a candle whose low (high) is the lowest (highest) of the
`span` candles either side of it is a swing low (high); levels closer than `merge` of each other are one."""

import numpy as np

from ai_svc.domain.candles import Candles

SWING_SPAN = 3
MAX_LEVELS = 3


def swing_lows(candles: Candles, span: int = SWING_SPAN) -> list[float]:
    """Lows of the swing-low candles, oldest first (a candle needs `span` closed candles after it)."""
    return _swings(candles.l, span, np.min)


def swing_highs(candles: Candles, span: int = SWING_SPAN) -> list[float]:
    """Highs of the swing-high candles, oldest first."""
    return _swings(candles.h, span, np.max)


def _swings(values: np.ndarray, span: int, extreme) -> list[float]:
    return [float(values[i]) for i in range(span, len(values) - span)
            if values[i] == extreme(values[i - span:i + span + 1])]


def _merged(levels: list[float], merge: float) -> list[float]:
    out: list[float] = []
    for level in levels:  # nearest first: a level within `merge` of one kept is the same level
        if all(abs(level - kept) > merge for kept in out):
            out.append(level)
    return out


def support_resistance(candles: Candles, price: float, merge: float) -> tuple[list[float], list[float]]:
    """Up to three supports below `price` (nearest first) and three resistances above it."""
    supports = sorted((x for x in swing_lows(candles) if x < price), reverse=True)
    resistances = sorted(x for x in swing_highs(candles) if x > price)
    return _merged(supports, merge)[:MAX_LEVELS], _merged(resistances, merge)[:MAX_LEVELS]
