"""The normalized tick and trade the suite publishes, whatever the venue."""

from dataclasses import dataclass
from typing import Any

from dm_shared.bus import SCHEMA_VERSION


@dataclass(frozen=True)
class Ticker:
    exchange: str
    symbol: str
    price: float
    change_24h: float | None
    volume_24h: float | None
    high_24h: float | None
    low_24h: float | None
    timestamp: int

    def to_message(self, seq: int) -> dict[str, Any]:
        return {"schema": SCHEMA_VERSION, "type": "ticker", "seq": seq, **self.__dict__}


@dataclass(frozen=True)
class Trade:
    exchange: str
    symbol: str
    id: str
    price: float
    amount: float
    side: str
    timestamp: int

    def to_message(self, seq: int) -> dict[str, Any]:
        return {"schema": SCHEMA_VERSION, "type": "trade", "seq": seq, **self.__dict__}
