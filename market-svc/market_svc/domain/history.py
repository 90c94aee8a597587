"""Price history on a grid: one point per interval boundary, each the price AT that time.

- The grid is the interval's own boundaries: whole hours, days at 00:00 UTC, weeks on Monday 00:00 UTC
  (as Binance's weekly candles), months on the 1st at 00:00 UTC (calendar months).
- From candles, the point at a boundary is the close of the candle that ends there (a candle's close is the
  last price before its close time); a candle still in progress gives no point.
- From observations (CoinGecko's market chart), the point at a boundary is the last observation at or
  before it, if there is one within the interval before it.
"""

from bisect import bisect_right
from datetime import UTC, datetime

HOUR = 3_600_000
DAY = 24 * HOUR
WEEK = 7 * DAY
MONDAY = 4 * DAY  # 1970-01-05 00:00 UTC, the first Monday: weeks are counted from it
INTERVALS = ("1h", "1d", "1w", "1M")
FIXED = {"1h": HOUR, "1d": DAY, "1w": WEEK}
# The candles each interval is read from on an exchange: months are computed from daily candles.
CANDLES = {"1h": "1h", "1d": "1d", "1w": "1w", "1M": "1d"}


def _month_start(t: int, months_ahead: int = 0) -> int:
    moment = datetime.fromtimestamp(t / 1000, UTC)
    index = moment.year * 12 + moment.month - 1 + months_ahead
    return int(datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC).timestamp() * 1000)


def floor(t: int, interval: str) -> int:
    """The last boundary at or before `t`."""
    if interval == "1M":
        return _month_start(t)
    step = FIXED[interval]
    origin = MONDAY if interval == "1w" else 0
    return t - (t - origin) % step


def previous(t: int, interval: str) -> int:
    """The boundary before boundary `t`."""
    return _month_start(t, -1) if interval == "1M" else t - FIXED[interval]


def grid(start: int, end: int, interval: str) -> list[int]:
    """Every boundary of `interval` from `start` to `end` (ms), inclusive."""
    times = []
    t = floor(end, interval)
    while t >= start:
        times.append(t)
        t = previous(t, interval)
    return times[::-1]


def count(start: int, end: int, interval: str) -> int:
    """How many boundaries lie between `start` and `end` (without listing them for a huge range)."""
    if interval == "1M":
        return len(grid(start, end, interval))
    return max(0, (floor(end, interval) - start) // FIXED[interval] + 1) if end >= start else 0


def at_boundaries(observations: list[tuple[int, float]], times: list[int], interval: str) -> dict[int, float]:
    """At each boundary, the last observation at or before it within the interval before it."""
    ordered = sorted(observations)
    stamps = [t for t, _ in ordered]
    points = {}
    for t in times:
        index = bisect_right(stamps, t) - 1
        if index >= 0 and stamps[index] > previous(t, interval):
            points[t] = ordered[index][1]
    return points


Closed = dict[int, tuple[float, float | None]]


def closes(candles: list[tuple[int, float, float | None]], candle_ms: int, now: int) -> Closed:
    """(close, volume) of each complete candle `(open time, close, volume)`, under its close time."""
    return {t + candle_ms: (close, volume) for t, close, volume in candles if t + candle_ms <= now}
