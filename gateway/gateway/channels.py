"""The websocket channels, one row each: what a client may subscribe to on /ws, where its messages come
from on NATS, how they are keyed and delivered, and what a client receives of each.

A row is data, so a deployment can add channels through settings (GATEWAY_WS__CHANNELS) and a service
adds its own with one row here; docs/asyncapi.yaml documents each.
"""

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from dm_shared.errors import InvalidSymbolError
from dm_shared.subjects import ANY, NEWS_ARTICLE, signal_subject, ticker_subject, trades_subject, whale_subject
from dm_shared.symbols import parse_pair

KeyKind = Literal["pair", "chain", "none"]
Delivery = Literal["latest", "ordered"]

# Per key kind: the field of a subscribe message that lists the keys, and the message field holding one.
KEY_LIST = {"pair": "symbols", "chain": "chains"}
KEY_FIELD = {"pair": "symbol", "chain": "chain"}
_CHAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


class BadKeyError(ValueError):
    """A key a client sent that this channel's key kind does not accept."""


class Channel(BaseModel):
    """One websocket channel."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    # NATS subject of one key's messages, with `{key}` where the key's token goes (`*` for any venue).
    subject: str
    key: KeyKind = "pair"
    # latest: a client gets the newest message per key (a slow client skips, never queues);
    # ordered: every message in order, a gap in `seq` announced; with `replay`, from JetStream after from_seq.
    delivery: Delivery = "latest"
    fields: tuple[str, ...]
    replay: bool = False
    # The service whose `GET /v1/streams` lists the keys it publishes: a key it does not list is refused
    # with the ones it does. None: any well-formed key is accepted.
    listed_by: str | None = None
    # Other names clients use for this channel (the Dreammaker frontend asks for `market_data`).
    aliases: tuple[str, ...] = ()
    # Message types that carry their own `data` object (spec 004's AISignalReceived): a client gets their
    # `type`, `data` (with the message's `seq`) and `timestamp` instead of the row's fields.
    wrapped: tuple[str, ...] = ()

    @property
    def keys_field(self) -> str | None:
        """The subscribe message's list of keys (`symbols`, `chains`); None for an unkeyed channel."""
        return KEY_LIST.get(self.key)

    @property
    def key_field(self) -> str | None:
        """The message field that holds a message's key."""
        return KEY_FIELD.get(self.key)

    def parse_key(self, raw: Any) -> str | None:
        """A client's key in its canonical form (`BTC/USDT`, `ethereum`); BadKeyError when not acceptable."""
        if self.key == "none":
            return None
        if not isinstance(raw, str):
            raise BadKeyError("keys are strings")
        if self.key == "pair":
            try:
                return str(parse_pair(raw))
            except InvalidSymbolError as exc:
                raise BadKeyError(exc.message) from exc
        chain = raw.strip().lower()
        if not _CHAIN.match(chain):
            raise BadKeyError("chains are names such as ethereum or bitcoin")
        return chain

    def subject_for(self, key: str | None) -> str:
        """The NATS subject carrying one key's messages."""
        return self.subject if key is None else self.subject.replace("{key}", key.replace("/", "-"))

    def project(self, message: dict[str, Any]) -> dict[str, Any]:
        """The update a client receives for one bus message."""
        if message.get("type") in self.wrapped:
            return {"channel": self.name, "type": message["type"],
                    "data": {**message["data"], "seq": message.get("seq")}, "timestamp": message.get("timestamp")}
        return {"channel": self.name, "data": {name: message.get(name) for name in self.fields}}


CHANNELS: tuple[Channel, ...] = (
    Channel(name="ticker", subject=ticker_subject(ANY, "{key}"), key="pair", delivery="latest", listed_by="stream",
            aliases=("market_data",),
            fields=("symbol", "price", "change_24h", "volume_24h", "timestamp", "exchange", "seq")),
    Channel(name="trades", subject=trades_subject(ANY, "{key}"), key="pair", delivery="ordered", replay=True,
            listed_by="stream", fields=("symbol", "price", "amount", "side", "timestamp", "id", "exchange", "seq")),
    Channel(name="whales", subject=whale_subject("{key}"), key="chain", delivery="ordered", replay=True,
            fields=("id", "chain", "hash", "timestamp", "from", "to", "from_address", "to_address", "from_owner",
                    "to_owner", "amount", "token", "usd_value", "price_usd", "transfer_type", "block", "source",
                    "seq")),
    Channel(name="signals", subject=signal_subject("{key}"), key="pair", delivery="ordered", replay=True,
            listed_by="ai", wrapped=("AISignalReceived",),
            fields=("symbol", "id", "signal", "confidence", "score", "timeframe", "entry_price", "target_price",
                    "stop_loss", "risk_reward", "model", "reasoning", "timestamp", "expires_at", "seq")),
    Channel(name="news", subject=NEWS_ARTICLE, key="none", delivery="ordered", replay=True,
            fields=("id", "title", "url", "source", "published_at", "sentiment", "sentiment_score", "related_symbols",
                    "categories", "seq")),
)
