"""What the venues list, from their own market lists, and under which native ids."""

from dataclasses import dataclass, field
from functools import cached_property

from dm_shared.assets import ASSETS


@dataclass
class Listings:
    """What the venues list, from their market lists: unified symbol -> the venue's own id."""

    spot: dict[str, dict[str, str]] = field(default_factory=dict)  # venue -> {"BTC/USDT": "BTCUSDT"}

    @cached_property
    def bases(self) -> set[str]:
        """Every base asset some venue lists, plus the registry's."""
        listed = {symbol.split("/")[0] for symbols in self.spot.values() for symbol in symbols}
        return listed | set(ASSETS)

    @cached_property
    def pairs(self) -> set[str]:
        """Every spot pair some venue lists."""
        return {symbol for symbols in self.spot.values() for symbol in symbols}

    def venues(self, pair: str) -> dict[str, str]:
        """The venues listing `pair`, with each venue's own id for it."""
        return {venue: symbols[pair] for venue, symbols in self.spot.items() if pair in symbols}
