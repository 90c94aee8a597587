"""One market for every venue, derived from the time-shifted hourly history (see data/README.md, "One market").

The current price of a symbol is the close of the candle in progress; the 24-hour figures come from the 24
hourly candles that end with it; recorded books and trades are re-priced around the current price and
re-timed to now. Every venue module formats these numbers in its own fields.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sandbox.history import DAY, HOUR, History, bucket_start

WINDOW = 24  # hourly candles in the rolling 24-hour figures
PLACES = Decimal("1e-8")  # re-priced and divided figures are rounded to 8 decimals (Binance's wire precision)
FUNDING_PERIOD = 8 * HOUR  # Binance and OKX settle USDT perpetuals at 00:00, 08:00 and 16:00 UTC


@dataclass(frozen=True, slots=True)
class Day:
    """The rolling 24-hour figures of one symbol at `now`."""

    now: int
    last: Decimal  # the current price: close of the candle in progress
    open: Decimal  # open of the first of the 24 candles
    high: Decimal
    low: Decimal
    prev_close: Decimal  # close of the candle before them
    volume: Decimal  # base volume, summed
    quote_volume: Decimal  # sum of volume x close per candle

    @property
    def change(self) -> Decimal:
        """Last price minus the window's open."""
        return self.last - self.open

    @property
    def change_ratio(self) -> Decimal:
        """Change as a fraction of the open (unrounded)."""
        return self.change / self.open if self.open else Decimal(0)

    @property
    def average(self) -> Decimal:
        """Volume-weighted average price: quote volume / base volume, 8 decimals (0 without volume)."""
        return (self.quote_volume / self.volume).quantize(PLACES) if self.volume else Decimal(0)


def day(history: History, symbol: str, now: int) -> Day:
    """The 24-hour figures of symbol at now, from the 24 hourly candles ending with the one in progress."""
    candles = history.series(symbol, "1h", now).candles
    window = candles[-WINDOW:]
    return Day(
        now=now,
        last=Decimal(window[-1].c),
        open=Decimal(window[0].o),
        high=max(Decimal(c.h) for c in window),
        low=min(Decimal(c.l) for c in window),
        prev_close=Decimal(candles[-WINDOW - 1].c if len(candles) > WINDOW else window[0].o),
        volume=sum((Decimal(c.v) for c in window), Decimal(0)),
        quote_volume=sum((Decimal(c.v) * Decimal(c.c) for c in window), Decimal(0)),
    )


def current_price(history: History, symbol: str, now: int) -> Decimal:
    """Close of the candle in progress at now."""
    return Decimal(history.series(symbol, "1h", now).candles[-1].c)


def start_of_day(history: History, symbol: str, now: int, utc_offset_hours: int = 0) -> Decimal:
    """Open of the hourly candle that opens at the latest local midnight (UTC + offset) before now."""
    midnight = bucket_start(now, DAY, -utc_offset_hours * HOUR)
    candles = history.series(symbol, "1h", now).select(midnight, midnight)
    return Decimal(candles[0].o) if candles else current_price(history, symbol, now)


def scale(value: str | Decimal, reference: str | Decimal, current: Decimal) -> Decimal:
    """A recorded price moved to the current price level: current x value / reference, 8 decimals."""
    return (current * Decimal(value) / Decimal(reference)).quantize(PLACES)


def book_mid(bids: list[list[str]], asks: list[list[str]]) -> Decimal:
    """Mid of a recorded book: (best bid + best ask) / 2."""
    return (Decimal(bids[0][0]) + Decimal(asks[0][0])) / 2


def reprice_levels(levels: list[list[str]], mid: Decimal, current: Decimal,
                   fmt: Callable[[Decimal], str]) -> list[list[str]]:
    """Book levels re-priced around current (same relative distance from the recorded mid); the quantity and
    any further fields of each level are kept as recorded."""
    return [[fmt(scale(level[0], mid, current)), *level[1:]] for level in levels]


def retime_offset(times: list[int], now: int) -> int:
    """What to add to recorded times so the newest is now (their spacing is kept)."""
    return now - max(times)


def next_funding(now: int, period: int = FUNDING_PERIOD) -> int:
    """The first funding settlement after now (settlements every `period` from 00:00 UTC)."""
    return bucket_start(now, period) + period


def last_funding(now: int, period: int = FUNDING_PERIOD) -> int:
    """The latest funding settlement at or before now."""
    return bucket_start(now, period)


def fixed(value: Decimal, places: int = 8) -> str:
    """Binance's number format: always `places` decimals."""
    return f"{value:.{places}f}"


def plain(value: Decimal) -> str:
    """KuCoin's and OKX's number format: no trailing zeros, no exponent."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text
