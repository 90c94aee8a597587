"""What the suite publishes on NATS: one class per message type, with the schema version.

No I/O here (neither nats nor FastAPI): producers build these, `dm_shared.bus` puts them on the wire as
`{"schema", "type", "seq"?, ...fields, "producer"?}`, and consumers read the same field names
(documented in docs/asyncapi.yaml).
"""

from dataclasses import dataclass, fields
from typing import Any, ClassVar

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Message:
    """Base of every bus message: `type` names it on the wire."""

    type: ClassVar[str] = "message"

    def fields(self) -> dict[str, Any]:
        """The message's own fields, in declaration order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Ticker(Message):
    """A venue's latest 24h ticker of a pair (core NATS, latest wins)."""

    type: ClassVar[str] = "ticker"
    exchange: str
    symbol: str
    price: float
    change_24h: float | None
    volume_24h: float | None
    high_24h: float | None
    low_24h: float | None
    timestamp: int


@dataclass(frozen=True)
class Trade(Message):
    """One public trade on a venue (JetStream, replayable)."""

    type: ClassVar[str] = "trade"
    exchange: str
    symbol: str
    id: str
    price: float
    amount: float
    side: str
    timestamp: int

    @property
    def dedup_id(self) -> str:
        """The Nats-Msg-Id that makes a re-published trade a duplicate JetStream drops."""
        return f"{self.exchange}:{self.symbol}:{self.id}"


@dataclass(frozen=True)
class Signal(Message):
    """A trading signal of ai-svc (JetStream AI_SIGNALS, replayable; Nats-Msg-Id is its id)."""

    type: ClassVar[str] = "signal"
    id: str
    symbol: str
    signal: str  # buy | sell | hold (`type` names the message)
    confidence: float
    score: float
    timeframe: str
    entry_price: float
    target_price: float | None
    stop_loss: float | None
    risk_reward: float | None
    model: str
    reasoning: tuple[str, ...]
    timestamp: int
    expires_at: int


@dataclass(frozen=True)
class WhaleAlert(Message):
    """A large transfer on a chain (JetStream, replayable), in the fields of GET /api/blockchain/whale-alerts.

    `from`/`to` are Python keywords, so the addresses are held as `sender`/`receiver` and go on the wire
    as `from`/`to` (labelled with the owner when known), beside `from_address`/`to_address`. `type` names
    the message on the bus, so the alert's own type (exchange_inflow ...) is `transfer_type` here.
    """

    type: ClassVar[str] = "whale_alert"
    id: str
    chain: str
    hash: str
    timestamp: int
    sender: str
    receiver: str
    from_address: str
    to_address: str
    from_owner: str | None
    to_owner: str | None
    amount: float
    token: str
    usd_value: float
    price_usd: float
    transfer_type: str
    block: int | None
    source: str

    def fields(self) -> dict[str, Any]:
        """The wire fields, with `from` and `to` under the names the REST alerts use."""
        body = super().fields()
        body["from"], body["to"] = body.pop("sender"), body.pop("receiver")
        return body

    @property
    def dedup_id(self) -> str:
        """The Nats-Msg-Id that makes a re-published alert a duplicate JetStream drops."""
        return f"{self.chain}:{self.hash}"


@dataclass(frozen=True)
class NewsArticle(Message):
    """A news article the suite ingested for the first time (JetStream, replayable, deduplicated by id)."""

    type: ClassVar[str] = "news_article"
    id: str
    title: str
    url: str
    source: str
    published_at: str
    sentiment: str | None
    sentiment_score: float | None
    related_symbols: list[str]
    categories: list[str]
    language: str | None
    providers: list[str]

    @property
    def dedup_id(self) -> str:
        """The Nats-Msg-Id: the article's id, so a re-published article is dropped by the server."""
        return self.id


@dataclass(frozen=True)
class AiSignalReceived(Message):
    """An analysis of ai-svc's periodic runner in spec 004's broadcast shape: `{"type": "AISignalReceived",
    "data": {...}, "timestamp": "<ISO 8601>"}` (JetStream AI_SIGNALS beside `signal`; Nats-Msg-Id is the
    analysis id)."""

    type: ClassVar[str] = "AISignalReceived"
    data: dict[str, Any]
    timestamp: str
