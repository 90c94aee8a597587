"""Canonical upstream windows for price history: which blocks a client's window is cut from.

Upstreams are asked for fixed blocks of one granularity, aligned to a boundary, never for a client's own
`from`/`to`: every window inside a block is cut from the same upstream answer, so the calls do not grow with
the variety of client windows.

- Granularity `1h` (CoinGecko's hourly observations, exchanges' hourly candles): blocks of 30 days from the
  Unix epoch. CoinGecko answers a range of up to 90 days with hourly points, so a block keeps them hourly.
- `1d` (CoinGecko's daily observations, exchanges' daily candles): blocks of 360 days from the epoch.
  CoinGecko answers a range beyond 90 days with daily points at 00:00 UTC, and its keyless API serves the last
  365 days, which a current block never reaches beyond.
- `1w` (exchanges' weekly candles): blocks of 360 weeks from Monday 1970-01-05, as Binance's weeks.
Each block is at most 720 candles, within one call of every venue (Binance 1000, KuCoin 1500). Nothing is
asked before 2009-01-03, Bitcoin's first block: no coin has a price before it.

A block is closed once its end lies an hour in the past (upstreams publish the last point of a period a few
minutes late): its data no longer changes and it may be cached much longer than the block in progress.
"""

from dataclasses import dataclass

from market_svc.domain.history import DAY, HOUR, MONDAY, WEEK

BLOCK_MS = {"1h": 30 * DAY, "1d": 360 * DAY, "1w": 360 * WEEK}
ORIGIN = {"1h": 0, "1d": 0, "1w": MONDAY}
STEP_MS = {"1h": HOUR, "1d": DAY, "1w": WEEK}
EARLIEST = 1_230_940_800_000  # 2009-01-03 00:00 UTC
SETTLE_MS = HOUR
# CoinGecko's observations behind each interval: hourly for hours, daily for days, weeks and months.
COINGECKO_GRANULARITY = {"1h": "1h", "1d": "1d", "1w": "1d", "1M": "1d"}


@dataclass(frozen=True)
class Block:
    """One canonical upstream window of a granularity: from `start` (inclusive) to `end` (exclusive), unix ms."""

    granularity: str
    start: int
    end: int

    @property
    def candles(self) -> int:
        """How many candles of its granularity the block holds."""
        return (self.end - self.start) // STEP_MS[self.granularity]

    def closed(self, now: int) -> bool:
        """Whether the block ended long enough before `now` that its data is final."""
        return self.end + SETTLE_MS <= now


def covering(low: int, high: int, granularity: str) -> list[Block]:
    """The blocks of `granularity` that overlap the open interval (`low`, `high`), oldest first: for the points
    of a window, `low` is the boundary before its first point and `high` its last point."""
    size, origin = BLOCK_MS[granularity], ORIGIN[granularity]
    low = max(low, EARLIEST)
    first = origin + (low - origin) // size * size  # the block holding `low`
    return [Block(granularity, start, start + size) for start in range(first, high, size)]
