"""Candles as numpy columns, oldest first: the form every indicator and model reads."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

# Timeframes ai-svc analyses and forecasts, in milliseconds (spec 002 section 4: 1h, 4h, 1d).
TIMEFRAMES: dict[str, int] = {"1h": 3_600_000, "4h": 14_400_000, "1d": 86_400_000}
# Every timeframe a client may send candles of (spec 004's analyze), in milliseconds.
STEPS: dict[str, int] = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000, **TIMEFRAMES,
                         "1w": 604_800_000}


@dataclass(frozen=True)
class Candles:
    """Open times (unix ms) and OHLCV columns; a missing volume is 0."""

    t: np.ndarray
    o: np.ndarray
    h: np.ndarray
    l: np.ndarray  # noqa: E741 (the suite's candle field)
    c: np.ndarray
    v: np.ndarray

    def __len__(self) -> int:
        return len(self.t)

    @classmethod
    def of(cls, rows: Iterable[Mapping[str, Any]]) -> "Candles":
        """From the suite's candle objects ({t, o, h, l, c, v}), sorted by open time."""
        rows = sorted(rows, key=lambda r: r["t"])
        column = lambda key: np.array([float(r[key] or 0.0) for r in rows], dtype=np.float64)  # noqa: E731
        return cls(t=np.array([int(r["t"]) for r in rows], dtype=np.int64), o=column("o"), h=column("h"),
                   l=column("l"), c=column("c"), v=column("v"))

    def head(self, n: int) -> "Candles":
        """The first `n` candles."""
        return Candles(self.t[:n], self.o[:n], self.h[:n], self.l[:n], self.c[:n], self.v[:n])

    def tail(self, n: int) -> "Candles":
        """The last `n` candles."""
        start = max(0, len(self) - n)
        return Candles(self.t[start:], self.o[start:], self.h[start:], self.l[start:], self.c[start:], self.v[start:])

    def closed(self, now_ms: int, timeframe_ms: int) -> "Candles":
        """Only the candles that have closed by `now_ms` (the newest one from an exchange is in progress)."""
        return self.head(int(np.searchsorted(self.t + timeframe_ms, now_ms, side="right")))
