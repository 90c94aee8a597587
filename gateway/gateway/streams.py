"""Fan-out of NATS subjects to websocket clients: one NATS subscription per channel and key, however
many clients listen; a bounded outbox per client, latest-wins or ordered as the channel's row says."""

import asyncio
import logging
import time
from collections import defaultdict, deque
from typing import Any

import orjson

from dm_shared.bus import Bus

from gateway.catalog import Catalog
from gateway.channels import Channel

log = logging.getLogger("gateway.streams")

Subscription = tuple[str, str | None]  # (channel name, key)


class Outbox:
    """What one client has yet to receive: the latest message per key of latest-wins channels (older ones
    are dropped), and ordered channels' messages in order up to a bound (beyond it they are dropped and the
    gap announced)."""

    def __init__(self, max_pending: int):
        self.latest: dict[Subscription, str] = {}
        self.ordered: deque[str] = deque()
        self.max_pending = max_pending
        self.notices: list[str] = []
        # Messages dropped for this client, one growing range per source and key until it is sent.
        self.dropped: dict[tuple[str, str, str | None], dict[str, Any]] = {}
        # Live messages held back while a key's history is replayed, so replay and live stay in order.
        self.holding: dict[Subscription, list[tuple[dict[str, Any], str]]] = {}
        self.last_seq: dict[tuple[str, str, str | None], int] = {}
        self.full_since: float | None = None
        self.ready = asyncio.Event()

    def hold(self, channel: str, key: str | None) -> None:
        """Hold live messages of a key back (a replay is about to run)."""
        self.holding.setdefault((channel, key), [])

    def release(self, channel: Channel, key: str | None) -> None:
        """Deliver what was held back, after the replay; what the replay already sent is skipped."""
        for message, text in self.holding.pop((channel.name, key), []):
            self.offer(channel, key, message, text)

    def offer(self, channel: Channel, key: str | None, message: dict[str, Any], text: str | None = None, *,
              replayed: bool = False) -> None:
        """Queue one update; `text` is its JSON, serialized once for every client by the caller."""
        data = message["data"]
        text = text if text is not None else orjson.dumps(message).decode()
        held = self.holding.get((channel.name, key))
        if held is not None and not replayed:
            held.append((message, text))
            return
        ordered = channel.delivery == "ordered"
        numbered = (channel.name, data.get("exchange") or "", key)
        seq, last = data.get("seq"), self.last_seq.get(numbered)
        if ordered and isinstance(seq, int) and last is not None and seq <= last:
            return  # already delivered (a replay overlapping the live stream)
        if ordered and isinstance(seq, int) and last is not None and seq > last + 1:
            self.notice(self._gap(channel, numbered, last + 1, seq - 1, seq - last - 1, "upstream"))
        if isinstance(seq, int):
            self.last_seq[numbered] = seq
        if not ordered:
            self.latest[channel.name, key] = text
        elif len(self.ordered) >= self.max_pending:
            gap = self.dropped.setdefault(numbered, self._gap(channel, numbered, seq, seq, 0, "client too slow"))
            gap["to_seq"], gap["missed"] = seq, gap["missed"] + 1
            self.full_since = self.full_since or time.monotonic()
        else:
            self.ordered.append(text)
            self.full_since = None
        self.ready.set()

    @staticmethod
    def _gap(channel: Channel, numbered: tuple[str, str, str | None], first: int | None, last: int | None,
             missed: int, reason: str) -> dict[str, Any]:
        gap: dict[str, Any] = {"type": "gap", "channel": channel.name}
        if channel.key_field:
            gap[channel.key_field] = numbered[2]
        return {**gap, "exchange": numbered[1], "from_seq": first, "to_seq": last, "missed": missed, "reason": reason}

    def notice(self, message: dict[str, Any], text: str | None = None) -> None:
        """Queue a notice; `text` is its JSON when the caller serialized it once for many clients."""
        self.notices.append(text if text is not None else orjson.dumps(message).decode())
        self.ready.set()

    def drain(self) -> list[str]:
        """Everything pending as JSON text, notices first, and empty the box."""
        gaps = [orjson.dumps(gap).decode() for gap in self.dropped.values()]
        batch = [*self.notices, *gaps, *self.latest.values(), *self.ordered]
        self.notices.clear()
        self.dropped.clear()
        self.latest.clear()
        self.ordered.clear()
        self.ready.clear()
        return batch


class Hub:
    """Subscribes to NATS on the first listener of a channel and key, and unsubscribes after the last."""

    def __init__(self, bus: Bus, channels: dict[str, Channel], catalog: Catalog | None = None):
        self.bus = bus
        self.channels = channels
        self.catalog = catalog
        self._listeners: defaultdict[Subscription, set[Outbox]] = defaultdict(set)
        self._subscriptions: dict[Subscription, Any] = {}
        self._lock = asyncio.Lock()

    @property
    def subscriptions(self) -> int:
        return len(self._subscriptions)

    async def join(self, outbox: Outbox, channel: str, key: str | None) -> None:
        async with self._lock:
            self._listeners[channel, key].add(outbox)
            if (channel, key) not in self._subscriptions and self.bus.connected:
                await self._subscribe((channel, key))

    async def leave(self, outbox: Outbox, channel: str, key: str | None) -> None:
        async with self._lock:
            self._listeners[channel, key].discard(outbox)
            if not self._listeners[channel, key]:
                del self._listeners[channel, key]
                subscription = self._subscriptions.pop((channel, key), None)
                if subscription is not None:
                    await subscription.unsubscribe()

    async def resubscribe(self) -> None:
        """After the bus (re)connects: subscribe every channel and key somebody listens to."""
        async with self._lock:
            for wanted in list(self._listeners):
                if wanted not in self._subscriptions:
                    await self._subscribe(wanted)

    async def replay(self, outbox: Outbox, channel: Channel, key: str | None, after_seq: int) -> int:
        """Messages of a key numbered after `after_seq`, from JetStream, into `outbox`; returns how many.

        The caller holds the key's live messages back (`Outbox.hold`) before joining; they are released
        after the replay, and the outbox drops the overlap by sequence number.
        """
        outbox.hold(channel.name, key)
        replayed = 0
        try:
            async for msg in self.bus.replay(channel.subject_for(key)):
                message = channel.project(orjson.loads(msg.data))
                if (message["data"].get("seq") or 0) > after_seq:
                    outbox.offer(channel, key, message, replayed=True)
                    replayed += 1
        finally:
            outbox.release(channel, key)
        return replayed

    def broadcast(self, message: dict[str, Any]) -> None:
        """A notice to every listening client (e.g. the bus went away)."""
        text = orjson.dumps(message).decode()  # once, however many clients listen
        for outbox in {o for listeners in self._listeners.values() for o in listeners}:
            outbox.notice(message, text)

    async def _subscribe(self, wanted: Subscription) -> None:
        name, key = wanted
        channel = self.channels[name]

        async def deliver(msg) -> None:
            try:
                message = channel.project(orjson.loads(msg.data))
            except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError):
                log.warning("unreadable message on %s", msg.subject)
                return
            text = orjson.dumps(message).decode()  # once, however many clients listen
            for outbox in tuple(self._listeners.get(wanted, ())):
                outbox.offer(channel, key, message, text)

        self._subscriptions[wanted] = await self.bus.subscribe(channel.subject_for(key), deliver)
