"""Fan-out of NATS subjects to websocket clients: one NATS subscription per channel and symbol, however
many clients listen; a bounded outbox per client."""

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

import nats.errors
import orjson
from nats.js.api import DeliverPolicy

from dm_shared.bus import Bus
from dm_shared.subjects import ANY_EXCHANGE, ticker_subject, trades_subject

log = logging.getLogger("gateway.streams")

# Documented channels (docs/asyncapi.yaml): the NATS subject a symbol's messages come from, any venue.
CHANNELS: dict[str, Callable[[str, str], str]] = {"ticker": ticker_subject, "trades": trades_subject}


def to_client(channel: str, message: dict[str, Any]) -> dict[str, Any]:
    """The spec 002 update message for one bus message."""
    if channel == "ticker":
        data = {k: message.get(k) for k in ("symbol", "price", "change_24h", "volume_24h", "timestamp",
                                             "exchange", "seq")}
    else:
        data = {k: message.get(k) for k in ("symbol", "price", "amount", "side", "timestamp", "id",
                                             "exchange", "seq")}
    return {"channel": channel, "data": data}


class Outbox:
    """What one client has yet to receive: the latest ticker per symbol (older ones are dropped), and
    trades in order up to a bound (beyond it they are dropped and the gap announced)."""

    def __init__(self, max_trades: int):
        self.tickers: dict[str, str] = {}
        self.trades: deque[str] = deque()
        self.max_trades = max_trades
        self.notices: list[str] = []
        # Trades dropped for this client, one growing range per symbol until it is sent.
        self.dropped: dict[tuple[str, str, str], dict[str, Any]] = {}
        # Live messages held back while a symbol's history is replayed, so replay and live stay in order.
        self.holding: dict[tuple[str, str], list[tuple[dict[str, Any], str]]] = {}
        self.last_seq: dict[tuple[str, str, str], int] = {}
        self.full_since: float | None = None
        self.ready = asyncio.Event()

    def hold(self, channel: str, symbol: str) -> None:
        """Hold live messages of a symbol back (a replay is about to run)."""
        self.holding.setdefault((channel, symbol), [])

    def release(self, channel: str, symbol: str) -> None:
        """Deliver what was held back, after the replay; what the replay already sent is skipped."""
        for message, text in self.holding.pop((channel, symbol), []):
            self.offer(channel, message, text)

    def offer(self, channel: str, message: dict[str, Any], text: str | None = None, *,
              replayed: bool = False) -> None:
        """Queue one update; `text` is its JSON, serialized once for every client by the caller."""
        data = message["data"]
        text = text if text is not None else orjson.dumps(message).decode()
        held = self.holding.get((channel, data["symbol"]))
        if held is not None and not replayed:
            held.append((message, text))
            return
        key = (channel, data.get("exchange") or "", data["symbol"])
        seq, last = data.get("seq"), self.last_seq.get(key)
        if channel == "trades" and isinstance(seq, int) and last is not None and seq <= last:
            return  # already delivered (a replay overlapping the live stream)
        if channel == "trades" and isinstance(seq, int) and last is not None and seq > last + 1:
            self.notice({"type": "gap", "channel": channel, "symbol": data["symbol"], "exchange": key[1],
                         "from_seq": last + 1, "to_seq": seq - 1, "missed": seq - last - 1, "reason": "upstream"})
        if isinstance(seq, int):
            self.last_seq[key] = seq
        if channel == "ticker":
            self.tickers[data["symbol"]] = text
        elif len(self.trades) >= self.max_trades:
            gap = self.dropped.setdefault(key, {"type": "gap", "channel": channel, "symbol": data["symbol"],
                                                "exchange": key[1], "from_seq": seq, "to_seq": seq, "missed": 0,
                                                "reason": "client too slow"})
            gap["to_seq"], gap["missed"] = seq, gap["missed"] + 1
            self.full_since = self.full_since or time.monotonic()
        else:
            self.trades.append(text)
            self.full_since = None
        self.ready.set()

    def notice(self, message: dict[str, Any], text: str | None = None) -> None:
        """Queue a notice; `text` is its JSON when the caller serialized it once for many clients."""
        self.notices.append(text if text is not None else orjson.dumps(message).decode())
        self.ready.set()

    def drain(self) -> list[str]:
        """Everything pending as JSON text, notices first, and empty the box."""
        gaps = [orjson.dumps(gap).decode() for gap in self.dropped.values()]
        batch = [*self.notices, *gaps, *self.tickers.values(), *self.trades]
        self.notices.clear()
        self.dropped.clear()
        self.tickers.clear()
        self.trades.clear()
        self.ready.clear()
        return batch


class Hub:
    """Subscribes to NATS on the first listener of a channel and symbol, and unsubscribes after the last."""

    def __init__(self, bus: Bus):
        self.bus = bus
        self._listeners: defaultdict[tuple[str, str], set[Outbox]] = defaultdict(set)
        self._subscriptions: dict[tuple[str, str], Any] = {}
        self._lock = asyncio.Lock()

    @property
    def subscriptions(self) -> int:
        return len(self._subscriptions)

    async def join(self, outbox: Outbox, channel: str, symbol: str) -> None:
        key = (channel, symbol)
        async with self._lock:
            self._listeners[key].add(outbox)
            if key not in self._subscriptions and self.bus.connected:
                await self._subscribe(key)

    async def leave(self, outbox: Outbox, channel: str, symbol: str) -> None:
        key = (channel, symbol)
        async with self._lock:
            self._listeners[key].discard(outbox)
            if not self._listeners[key]:
                del self._listeners[key]
                subscription = self._subscriptions.pop(key, None)
                if subscription is not None:
                    await subscription.unsubscribe()

    async def resubscribe(self) -> None:
        """After the bus (re)connects: subscribe every channel and symbol somebody listens to."""
        async with self._lock:
            for key in list(self._listeners):
                if key not in self._subscriptions:
                    await self._subscribe(key)

    async def replay(self, outbox: Outbox, channel: str, symbol: str, after_seq: int) -> int:
        """Trades of `symbol` numbered after `after_seq`, from JetStream, into `outbox`; returns how many.

        The caller holds the symbol's live trades back (`Outbox.hold`) before joining; they are released
        after the replay, and the outbox drops the overlap by sequence number.
        """
        subject = CHANNELS[channel](ANY_EXCHANGE, symbol)
        outbox.hold(channel, symbol)
        replayed = 0
        try:
            subscription = await self.bus.nc.jetstream().subscribe(subject, ordered_consumer=True,
                                                                  deliver_policy=DeliverPolicy.ALL)
            while True:
                try:
                    msg = await subscription.next_msg(timeout=1.0)
                except nats.errors.TimeoutError:
                    break
                message = to_client(channel, orjson.loads(msg.data))
                if (message["data"].get("seq") or 0) > after_seq:
                    outbox.offer(channel, message, replayed=True)
                    replayed += 1
                if msg.metadata.num_pending == 0:
                    break
            await subscription.unsubscribe()
        finally:
            outbox.release(channel, symbol)
        return replayed

    def broadcast(self, message: dict[str, Any]) -> None:
        """A notice to every listening client (e.g. the bus went away)."""
        text = orjson.dumps(message).decode()  # once, however many clients listen
        for outbox in {o for listeners in self._listeners.values() for o in listeners}:
            outbox.notice(message, text)

    async def _subscribe(self, key: tuple[str, str]) -> None:
        channel, symbol = key
        subject = CHANNELS[channel](ANY_EXCHANGE, symbol)

        async def deliver(msg) -> None:
            try:
                message = to_client(channel, orjson.loads(msg.data))
            except (orjson.JSONDecodeError, AttributeError):
                log.warning("unreadable message on %s", msg.subject)
                return
            text = orjson.dumps(message).decode()  # once, however many clients listen
            for outbox in tuple(self._listeners.get(key, ())):
                outbox.offer(channel, message, text)

        self._subscriptions[key] = await self.bus.nc.subscribe(subject, cb=deliver)
