"""Symbols at the API edge, REST and websocket alike: the spellings users send, resolved to one pair."""

import difflib
import re
from dataclasses import dataclass

from dm_shared.assets import ASSETS, QUOTES
from dm_shared.errors import InvalidSymbolError

_SHAPE = re.compile(r"^[A-Z0-9]{1,15}([/\-_][A-Z0-9]{1,15})?$")
DEFAULT_QUOTE = "USDT"


@dataclass(frozen=True)
class Pair:
    """A trading pair in the suite's one normalized form."""

    base: str
    quote: str

    def __str__(self) -> str:
        return f"{self.base}/{self.quote}"

    @property
    def perpetual(self) -> str:
        """The ccxt symbol of the linear perpetual swap on this pair, e.g. BTC/USDT:USDT."""
        return f"{self.base}/{self.quote}:{self.quote}"

    @property
    def token(self) -> str:
        """The pair as it appears in NATS subjects: BTC-USDT."""
        return f"{self.base}-{self.quote}"


def _invalid(raw: str, reason: str, known: set[str] | None = None, guess: str | None = None) -> InvalidSymbolError:
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    details: dict = {"symbol": shown, "reason": reason}
    if known and guess:
        details["close_matches"] = difflib.get_close_matches(guess, sorted(known), n=5, cutoff=0.5)
    return InvalidSymbolError(f"Symbol {shown!r} is not supported: {reason}", details=details)


def parse_pair(raw: str, *, known_bases: set[str] | frozenset[str] = frozenset(ASSETS),
               default_quote: str = DEFAULT_QUOTE) -> Pair:
    """`BTC`, `btc`, `BTC/USDT`, `BTC-USDT`, `BTC_USDT` or `BTCUSDT` as one Pair; INVALID_SYMBOL otherwise.

    A bare ticker means that asset against `default_quote`. A concatenated symbol is split at a known
    quote currency only when what precedes it is a known asset, so `BTCUSDT` never reads as `BTCUSD/T`.
    `known_bases` defaults to the asset registry; market-svc passes what the venues list as well.
    """
    text = raw.strip().upper()
    if not _SHAPE.match(text):
        raise _invalid(raw, "expected a ticker such as BTC or a pair such as BTC/USDT")
    if any(sep in text for sep in "/-_"):
        base, quote = re.split(r"[/\-_]", text)
        if base not in known_bases:
            raise _invalid(raw, f"unknown asset {base}", known_bases, base)
        return Pair(base, quote)
    if text in known_bases:
        # A quote currency asked for on its own (USDT) is priced in USD, not against itself.
        return Pair(text, "USD" if text == default_quote else default_quote)
    for quote in QUOTES:
        base = text[: -len(quote)]
        if text.endswith(quote) and base in known_bases:
            return Pair(base, quote)
    raise _invalid(raw, "unknown asset", known_bases, text)

