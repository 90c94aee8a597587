"""Trading-pair symbols at the API edge (`BASE/QUOTE`) and the timeframes the suite serves."""

import re

from dm_shared.errors import InvalidSymbolError

_PAIR = re.compile(r"^([A-Z0-9]{1,15})/([A-Z0-9]{1,15})$")

# Spec 002 timeframes, in milliseconds.
TIMEFRAMES: dict[str, int] = {
    "1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000,
    "4h": 14_400_000, "1d": 86_400_000, "1w": 604_800_000,
}


def to_pair(raw: str) -> tuple[str, str]:
    """`(BASE, QUOTE)` from a `BASE/QUOTE` symbol, or INVALID_SYMBOL."""
    match = _PAIR.match(raw.strip().upper())
    if not match:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise InvalidSymbolError(f"Symbol {shown!r} is not a BASE/QUOTE pair such as BTC/USDT",
                                 details={"symbol": shown})
    return match.group(1), match.group(2)
