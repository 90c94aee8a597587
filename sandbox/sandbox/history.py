"""Real price history, time-shifted so its latest candle is the one in progress now, and aggregated."""

import csv
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY
# 1970-01-01 was a Thursday; Binance weeks open on Monday 00:00 UTC (1970-01-05 is the first Monday).
MONDAY_ORIGIN = 4 * DAY

# interval -> (length ms, bucket origin ms, source resolution)
INTERVALS: dict[str, tuple[int, int, str]] = {
    "1m": (MINUTE, 0, "1m"),
    "5m": (5 * MINUTE, 0, "1m"),
    "15m": (15 * MINUTE, 0, "1m"),
    "1h": (HOUR, 0, "1h"),
    "4h": (4 * HOUR, 0, "1h"),
    "1d": (DAY, 0, "1h"),
    "1w": (WEEK, MONDAY_ORIGIN, "1h"),
    # CoinGecko's OHLC granularity beyond 30 days (not a Binance interval).
    "4d": (4 * DAY, 0, "1h"),
    # OKX's 1D and 1W bars (without the "utc" suffix) open at 00:00 Hong Kong time (UTC+8).
    "1d@utc+8": (DAY, -8 * HOUR, "1h"),
    "1w@utc+8": (WEEK, MONDAY_ORIGIN - 8 * HOUR, "1h"),
}


@dataclass(frozen=True, slots=True)
class Candle:
    """One candle; prices and volumes keep the source's decimal strings exactly."""

    t: int
    o: str
    h: str
    l: str  # noqa: E741
    c: str
    v: str
    # Only the recorded Binance 1m rows carry these; the hourly CSV does not.
    quote_volume: str | None = None
    trades: int | None = None
    taker_base: str | None = None
    taker_quote: str | None = None


@dataclass(frozen=True, slots=True)
class Series:
    """Candles in ascending open time, with their open times for bisection."""

    candles: list[Candle]
    times: list[int]

    @classmethod
    def of(cls, candles: list[Candle]) -> "Series":
        """Wrap an ascending candle list."""
        return cls(candles, [c.t for c in candles])

    def select(self, start: int | None = None, end: int | None = None, limit: int | None = None,
               from_end: bool = False) -> list[Candle]:
        """Candles with start <= open time <= end; at most limit, the earliest or (from_end) the latest."""
        lo = 0 if start is None else bisect_left(self.times, start)
        hi = len(self.times) if end is None else bisect_right(self.times, end)
        if hi <= lo:
            return []
        if limit is not None and hi - lo > limit:
            if from_end:
                lo = hi - limit
            else:
                hi = lo + limit
        return self.candles[lo:hi]


def read_hourly_csv(path: Path) -> list[Candle]:
    """Candles from a `t,o,h,l,c,v` CSV (t in ms), ascending."""
    with path.open(newline="") as fh:
        rows = [Candle(int(r["t"]), r["o"], r["h"], r["l"], r["c"], r["v"]) for r in csv.DictReader(fh)]
    rows.sort(key=lambda c: c.t)
    return rows


def read_binance_klines(rows: list[list]) -> list[Candle]:
    """Candles from recorded 12-field Binance kline rows, keeping every recorded field."""
    return sorted(
        (Candle(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[7], int(r[8]), r[9], r[10]) for r in rows),
        key=lambda c: c.t,
    )


def bucket_start(t: int, length: int, origin: int = 0) -> int:
    """Open time of the bucket of `length` ms (aligned to `origin`) that contains t."""
    return t - (t - origin) % length


def _dec_sum(values: list[str | None]) -> str | None:
    if any(v is None for v in values):
        return None
    return format(sum((Decimal(v) for v in values), Decimal(0)), "f")


def _merge(t: int, group: list[Candle]) -> Candle:
    trades = [c.trades for c in group]
    return Candle(
        t=t,
        o=group[0].o,
        h=max((c.h for c in group), key=Decimal),
        l=min((c.l for c in group), key=Decimal),
        c=group[-1].c,
        v=_dec_sum([c.v for c in group]) or "0",
        quote_volume=_dec_sum([c.quote_volume for c in group]),
        trades=None if any(n is None for n in trades) else sum(trades),
        taker_base=_dec_sum([c.taker_base for c in group]),
        taker_quote=_dec_sum([c.taker_quote for c in group]),
    )


def aggregate(candles: list[Candle], length: int, origin: int = 0) -> list[Candle]:
    """Aggregate ascending candles into buckets: open=first, high=max, low=min, close=last, volumes summed."""
    out: list[Candle] = []
    group: list[Candle] = []
    current = None
    for candle in candles:
        start = bucket_start(candle.t, length, origin)
        if start != current and group:
            out.append(_merge(current, group))
            group = []
        current = start
        group.append(candle)
    if group:
        out.append(_merge(current, group))
    return out


class History:
    """Hourly history per symbol plus the recorded 1m sample, shifted so the latest candle is the current one."""

    def __init__(self, hourly: dict[str, list[Candle]], minutes: dict[str, list[Candle]],
                 clock: Callable[[], float] = time.time) -> None:
        self._sources = {"1h": hourly, "1m": minutes}
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[int, Series]] = {}

    @classmethod
    def from_files(cls, hourly_csv: dict[str, Path], minute_klines: dict[str, list[list]]) -> "History":
        """Load the hourly CSVs and recorded 1m kline rows."""
        hourly = {symbol: read_hourly_csv(path) for symbol, path in hourly_csv.items()}
        minutes = {symbol: read_binance_klines(rows) for symbol, rows in minute_klines.items()}
        return cls(hourly, minutes)

    @property
    def symbols(self) -> list[str]:
        """Symbols with hourly history (Binance spelling, e.g. BTCUSDT)."""
        return sorted(self._sources["1h"])

    def now_ms(self) -> int:
        """Current time in ms from the history's clock."""
        return int(self._clock() * 1000)

    def shift_ms(self, resolution: str, now: int | None = None) -> int:
        """Whole-unit shift that moves the source's last open time to the start of the unit holding now
        (default: the clock's current time)."""
        unit = MINUTE if resolution == "1m" else HOUR
        last = max((rows[-1].t for rows in self._sources[resolution].values() if rows), default=None)
        if last is None:
            return 0
        return bucket_start(self.now_ms() if now is None else now, unit) - last

    def series(self, symbol: str, interval: str, now: int | None = None) -> Series:
        """Shifted (and aggregated) candles of symbol at interval, as seen at `now` (default: the clock);
        empty if none exist."""
        length, origin, resolution = INTERVALS[interval]
        shift = self.shift_ms(resolution, now)
        key = (symbol, interval)
        cached = self._cache.get(key)
        if cached is not None and cached[0] == shift:
            return cached[1]
        source = self._sources[resolution].get(symbol, [])
        shifted = [replace(c, t=c.t + shift) for c in source]
        candles = shifted if length == INTERVALS[resolution][0] else aggregate(shifted, length, origin)
        series = Series.of(candles)
        self._cache[key] = (shift, series)
        return series
