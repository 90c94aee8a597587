"""The NATS bus every service holds: the connection, the one publish path, durable streams, subscriptions.

- `Bus.publish` puts a `Message` on a subject, stamped with the schema version, an optional per-key
  sequence number and the producer; with `stream=` it goes to JetStream (the stream is created or
  brought to its declared configuration first) with a `Nats-Msg-Id`, so a repeat is dropped by the server.
- `Sequencer` numbers a producer's messages per key and resumes a key's numbering from the last message
  a stream kept (after a restart or a takeover), so a gap in `seq` is always a message missed.
- `Publisher` is the two together for a producer that must never stop on a failed publish: it counts
  what was published and what was dropped (a gap consumers see and announce).
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

import nats
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from dm_shared.messages import SCHEMA_VERSION, Message
from dm_shared.subjects import Stream

log = logging.getLogger("dm.bus")


def encode(message: Message, *, seq: int | None = None, producer: str | None = None) -> bytes:
    """A message as it goes on the wire."""
    head: dict[str, Any] = {"schema": SCHEMA_VERSION, "type": message.type}
    if seq is not None:
        head["seq"] = seq
    body = {**head, **message.fields()}
    if producer is not None:
        body["producer"] = producer
    return orjson.dumps(body)


class Bus:
    """A NATS connection that never blocks start-up: publishing before it is up raises, health shows it."""

    def __init__(self, url: str, *, name: str, on_down: Callable[[], Awaitable[None]] | None = None,
                 on_up: Callable[[], Awaitable[None]] | None = None):
        self.url = url
        self.name = name
        self.nc: Client | None = None
        self._task: asyncio.Task | None = None
        self._on_down, self._on_up = on_down, on_up
        self._streams: dict[str, StreamConfig] = {}
        self._ready: set[str] = set()  # streams created or updated on the current connection

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    async def start(self) -> None:
        self._task = asyncio.create_task(self._connect_forever(), name=f"nats-connect-{self.name}")

    async def _connect_forever(self) -> None:
        delay = 0.5
        while True:
            try:
                self.nc = await nats.connect(self.url, name=self.name, max_reconnect_attempts=-1,
                                             reconnect_time_wait=1, connect_timeout=2,
                                             allow_reconnect=True, error_cb=self._on_error,
                                             disconnected_cb=self._disconnected, reconnected_cb=self._reconnected)
                log.info("connected to NATS at %s", self.url)
                await self._reconnected()
                return
            except Exception as exc:  # nats-py raises several unrelated types on a failed first connect
                log.warning("NATS not reachable (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    async def _on_error(self, exc: Exception) -> None:
        log.debug("NATS client error: %s", exc)

    async def _disconnected(self) -> None:
        log.warning("NATS connection lost; reconnecting")
        self._ready.clear()
        if self._on_down:
            await self._on_down()

    async def _reconnected(self) -> None:
        if self._on_up:
            await self._on_up()

    def declare(self, stream: Stream, *, max_age: float, max_messages: int) -> None:
        """Keep `stream` with this retention; it is created (or updated to it) before its first publish."""
        self._streams[stream.name] = StreamConfig(name=stream.name, subjects=list(stream.subjects), max_age=max_age,
                                                  max_msgs=max_messages, storage=StorageType.FILE)

    async def _ensure(self, stream: Stream) -> None:
        if stream.name in self._ready:
            return
        config = self._streams.get(stream.name) or StreamConfig(name=stream.name, subjects=list(stream.subjects),
                                                                storage=StorageType.FILE)
        js = self.nc.jetstream()
        try:
            await js.add_stream(config)
        except BadRequestError:  # exists with another configuration: bring it to ours
            await js.update_stream(config)
        self._ready.add(stream.name)

    async def publish(self, subject: str, message: Message, *, seq: int | None = None, producer: str | None = None,
                      stream: Stream | None = None, msg_id: str | None = None) -> None:
        """Publish `message` on `subject`; into JetStream `stream` (deduplicated by `msg_id`) when given."""
        if not self.connected:
            raise ConnectionError("NATS is not connected")
        payload = encode(message, seq=seq, producer=producer)
        if stream is None:
            await self.nc.publish(subject, payload)
            return
        try:
            await self._ensure(stream)
            await self.nc.jetstream().publish(subject, payload, headers={"Nats-Msg-Id": msg_id} if msg_id else None)
        except Exception:
            self._ready.discard(stream.name)  # set it up again next time
            raise

    async def last(self, stream: Stream, subject: str) -> dict[str, Any] | None:
        """The last message `stream` keeps on `subject`, decoded; None when there is none."""
        try:
            msg = await self.nc.jetstream().get_last_msg(stream.name, subject)
        except NotFoundError:
            return None
        return orjson.loads(msg.data)

    async def subscribe(self, subject: str, handler: Callable[[Msg], Awaitable[None]]) -> Any:
        """A core NATS subscription (live messages only); `unsubscribe()` ends it. It is in place at the
        server when this returns (a round trip), so a message published after that reaches it."""
        subscription = await self.nc.subscribe(subject, cb=handler)
        try:
            await self.nc.flush(timeout=1)
        except nats.errors.Error as exc:  # the subscription stands all the same
            log.warning("subscription to %s not confirmed by the server: %s", subject, exc)
        return subscription

    async def replay(self, subject: str, *, idle: float = 1.0):
        """Every message JetStream keeps on `subject`, oldest first, then stop (an ordered consumer)."""
        subscription = await self.nc.jetstream().subscribe(subject, ordered_consumer=True,
                                                           deliver_policy=DeliverPolicy.ALL)
        try:
            while True:
                try:
                    msg = await subscription.next_msg(timeout=idle)
                except nats.errors.TimeoutError:
                    return
                yield msg
                if msg.metadata.num_pending == 0:
                    return
        finally:
            await subscription.unsubscribe()

    async def check(self) -> dict[str, Any]:
        """Health probe: raises when not connected."""
        if not self.connected:
            raise ConnectionError("not connected")
        await self.nc.flush(timeout=1)
        return {"server": self.nc.connected_url.netloc if self.nc.connected_url else None}

    async def close(self) -> None:
        if self._task and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.drain() if self.nc.is_connected else await self.nc.close()


class Sequencer:
    """Numbers messages per key (1, 2, 3 ...), resuming a key from the last message a stream kept."""

    def __init__(self, bus: Bus):
        self.bus = bus
        self._seq: defaultdict[Hashable, int] = defaultdict(int)

    def next(self, key: Hashable) -> int:
        """The next number of `key`."""
        self._seq[key] += 1
        return self._seq[key]

    async def resume(self, key: Hashable, stream: Stream, subject: str) -> None:
        """Continue `key` after the last `seq` kept on `subject` (another replica may have numbered it)."""
        try:
            last = await self.bus.last(stream, subject)
        except Exception as exc:  # no stream yet, or NATS away: numbering goes on from here
            log.debug("cannot resume %s from %s: %s", key, subject, exc)
            return
        if last and isinstance(last.get("seq"), int):
            self._seq[key] = max(self._seq[key], last["seq"])


class Publisher:
    """A producer's publishing: per-key sequence numbers, its name on every message, and a failed publish
    counted as dropped (consumers see the gap in `seq`), never raised."""

    def __init__(self, bus: Bus, *, producer: str):
        self.bus = bus
        self.producer = producer
        self.sequencer = Sequencer(bus)
        self.published = 0
        self.dropped = 0

    async def publish(self, subject: str, message: Message, *, key: Hashable, stream: Stream | None = None,
                      msg_id: str | None = None) -> bool:
        """Publish with the next number of `key`; False when the publish failed."""
        seq = self.sequencer.next(key)
        try:
            await self.bus.publish(subject, message, seq=seq, producer=self.producer, stream=stream, msg_id=msg_id)
        except Exception as exc:  # a failed publish is a gap, never a crash of the producer
            self.dropped += 1
            log.warning("could not publish %s #%d on %s: %s", message.type, seq, subject, exc)
            return False
        self.published += 1
        return True
