"""The strategies, as data and one stance function each (vectorized over the candles, so the walk-forward
backtest and a single analysis read the same numbers). A stance at candle i uses candles up to i only;
it is NaN where its indicators are not defined yet.

| strategy | style | stance |
|---|---|---|
| RSI Strategy | mean reversion | (50 - RSI 14) / 20, clipped: +1 at RSI 30 and below, -1 at 70 and above |
| MACD Strategy | trend | +1 / -1 when MACD crossed above / below its signal in the last 3 candles, else ±0.5 |
| Bollinger Bands Strategy | mean reversion | (0.5 - %B) x 2, clipped: +1 at the lower band, -1 at the upper |
| Volume Strategy | volume | the candle's direction x (volume / its 20-candle mean - 1), clipped to 0..1 in size |
| EMA Trend Strategy | trend | +1 when price and EMA 21 are above EMA 50, -1 when both below, else 0 |
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ai_svc.domain.candles import Candles
from ai_svc.errors import UnknownStrategyError

Style = Literal["mean_reversion", "trend", "volume"]
Series = dict[str, np.ndarray]
CROSS_WITHIN = 3  # as ai_svc.domain.indicators.macd_cross


@dataclass(frozen=True)
class Strategy:
    """One strategy: its name (spec 004's), style, what it reads, and its stance at every candle."""

    name: str
    style: Style
    description: str
    indicators: tuple[str, ...]
    stance: Callable[[Series, Candles], np.ndarray]


def _rsi(values: Series, _: Candles) -> np.ndarray:
    return np.clip((50.0 - values["rsi_14"]) / 20.0, -1.0, 1.0)


def _macd(values: Series, _: Candles) -> np.ndarray:
    diff = values["macd"] - values["macd_signal"]
    side = np.where(np.isnan(diff), np.nan, np.where(diff > 0, 1.0, -1.0))
    crossed = np.zeros(len(diff), dtype=bool)
    for shift in range(1, CROSS_WITHIN + 1):
        before = np.full(len(diff), np.nan)
        before[shift:] = side[:-shift]
        crossed |= ~np.isnan(before) & (before != side)
    return np.where(np.isnan(side), np.nan, side * np.where(crossed, 1.0, 0.5))


def _bollinger(values: Series, _: Candles) -> np.ndarray:
    return np.clip((0.5 - values["bb_percent_b"]) * 2.0, -1.0, 1.0)


def _volume(values: Series, candles: Candles) -> np.ndarray:
    excess = np.clip(values["volume_ratio"] - 1.0, 0.0, 1.0)
    return np.sign(candles.c - candles.o) * excess


def _ema_trend(values: Series, candles: Candles) -> np.ndarray:
    ema21, ema50, price = values["ema_21"], values["ema_50"], candles.c
    up = (price > ema50) & (ema21 > ema50)
    down = (price < ema50) & (ema21 < ema50)
    stance = np.where(up, 1.0, np.where(down, -1.0, 0.0))
    return np.where(np.isnan(ema21) | np.isnan(ema50), np.nan, stance)


STRATEGIES: tuple[Strategy, ...] = (
    Strategy("RSI Strategy", "mean_reversion", "Buys oversold and sells overbought: RSI 14 below 50 leans long, "
             "fully at 30; above 50 leans short, fully at 70", ("rsi_14",), _rsi),
    Strategy("MACD Strategy", "trend", "Follows MACD against its signal line: fully with a cross of the last 3 "
             "candles, half after that", ("macd", "macd_signal"), _macd),
    Strategy("Bollinger Bands Strategy", "mean_reversion", "Fades the bands: long towards the lower band, short "
             "towards the upper (%B of the 20-candle, 2-sigma bands)", ("bb_percent_b",), _bollinger),
    Strategy("Volume Strategy", "volume", "Follows candles whose volume is above its 20-candle mean, in the "
             "candle's direction, more the larger the excess (fully at twice the mean)", ("volume_ratio",), _volume),
    Strategy("EMA Trend Strategy", "trend", "Long while price and EMA 21 are above EMA 50, short while both are "
             "below, flat otherwise", ("ema_21", "ema_50"), _ema_trend),
)


def by_name(name: str) -> Strategy | None:
    """The strategy called `name` (case and spacing as listed, or lower-case)."""
    wanted = " ".join(name.split()).lower()
    return next((s for s in STRATEGIES if s.name.lower() == wanted), None)


def named(names: list[str] | None) -> tuple[Strategy, ...]:
    """The strategies named, each once (all when none); UNKNOWN_STRATEGY for a name no strategy has."""
    out: list[Strategy] = []
    for name in names or []:
        strategy = by_name(name)
        if strategy is None:
            raise UnknownStrategyError(f"No strategy called {name[:60]!r}",
                                       details={"known": [s.name for s in STRATEGIES]})
        if strategy not in out:
            out.append(strategy)
    return tuple(out) or STRATEGIES


def stances(candles: Candles, values: Series) -> dict[str, np.ndarray]:
    """Every strategy's stance at every candle."""
    with np.errstate(invalid="ignore"):
        return {s.name: s.stance(values, candles) for s in STRATEGIES}


def score(stance: float | None) -> float | None:
    """A stance as spec 004's strategy score: 0 fully bearish, 0.5 no view, 1 fully bullish."""
    if stance is None or np.isnan(stance):
        return None
    return round((float(stance) + 1.0) / 2.0, 4)
