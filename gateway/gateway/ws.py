"""WebSocket endpoints: /ws/ticker, /ws/trades (spec 002 section 8) and /ws for any documented channel.

Close codes (each with its reason): 1000 normal, 1003 binary frame, 1008 flood or policy, 1009 message too big,
1013 too many connections, 4000 client silent past the idle limit, 4008 client too slow to keep up.
"""

import asyncio
import logging
import time

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from dm_shared.clock import now_ms
from dm_shared.envelope import error_body

from gateway.channels import BadKeyError, Channel
from gateway.settings import WsSettings
from gateway.streams import Hub, Outbox

log = logging.getLogger("gateway.ws")
router = APIRouter()
CLOSE_IDLE, CLOSE_SLOW, CLOSE_FLOOD, CLOSE_TOO_BIG, CLOSE_BUSY, CLOSE_UNSUPPORTED = 4000, 4008, 1008, 1009, 1013, 1003
# The subscribe message every error about one names, so a client can see the accepted form.
EXAMPLE = {"action": "subscribe", "channel": "ticker", "symbols": ["BTC/USDT"]}
CLOSE_REASONS = {CLOSE_IDLE: "silent for too long", CLOSE_SLOW: "too slow to keep up", CLOSE_FLOOD: "too many messages",
                 CLOSE_TOO_BIG: "message too big", CLOSE_UNSUPPORTED: "binary frames are not accepted"}


class Session:
    """One client connection: its subscriptions, its outbox, its limits."""

    def __init__(self, ws: WebSocket, hub: Hub, limits: WsSettings, channels: dict[str, Channel]):
        self.ws, self.hub, self.limits, self.channels = ws, hub, limits, channels
        self.outbox = Outbox(limits.max_pending_trades)
        self.subscribed: set[tuple[str, str | None]] = set()
        self.last_heard = self.last_beat = time.monotonic()
        self.window_start, self.window_count = time.monotonic(), 0
        self.ended: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def end(self, code: int) -> None:
        """Close the connection with `code` (the sweeper's verdict)."""
        if not self.ended.done():
            self.ended.set_result(code)

    async def send(self, message: dict) -> None:
        await self.ws.send_text(orjson.dumps(message).decode())

    async def error(self, code: str, message: str, **details) -> None:
        await self.send({"type": "error", **error_body(code, message, details)})

    def flooding(self) -> bool:
        now = time.monotonic()
        if now - self.window_start >= 1.0:
            self.window_start, self.window_count = now, 0
        self.window_count += 1
        return self.window_count > self.limits.max_messages_per_second

    async def handle(self, text: str) -> None:
        """Apply one client message."""
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            await self.error("INVALID_MESSAGE", "Messages are JSON objects")
            return
        if not isinstance(message, dict):
            await self.error("INVALID_MESSAGE", "Messages are JSON objects")
            return
        action = message.get("action")
        if action == "ping" or (action is None and message.get("type") == "ping"):
            await self.send({"type": "pong", "timestamp": now_ms()})
            return
        if action not in ("subscribe", "unsubscribe"):
            await self.error("INVALID_ACTION", "action is subscribe, unsubscribe or ping", action=str(action)[:32],
                             example=EXAMPLE)
            return
        default = next(iter(self.channels)) if len(self.channels) == 1 else None
        name = message.get("channel", message.get("type", default))  # `type` is what some clients send
        channel = next((c for c in self.channels.values() if name == c.name or name in c.aliases), None)
        if channel is None:
            await self.error("INVALID_CHANNEL", "Unknown channel on this endpoint", channels=list(self.channels),
                             example=EXAMPLE)
            return
        keys = await self._keys(channel, message)
        if keys is None:
            return
        from_seq = message.get("from_seq")
        if from_seq is not None and (not channel.replay or action != "subscribe" or not isinstance(from_seq, int)
                                     or isinstance(from_seq, bool) or from_seq < 0):
            await self.error("INVALID_FROM_SEQ", "from_seq is a sequence number (>= 0) to resume after, on a "
                             "channel that keeps its history", channels=[c.name for c in self.channels.values()
                                                                         if c.replay])
            return
        listed = {channel.keys_field: keys} if channel.keys_field else {}
        if action == "subscribe":
            if len(self.subscribed | {(channel.name, k) for k in keys}) > self.limits.max_subscriptions:
                await self.error("TOO_MANY_SUBSCRIPTIONS", "Subscription limit reached",
                                 limit=self.limits.max_subscriptions)
                return
            for key in keys:
                if from_seq is not None:
                    self.outbox.hold(channel.name, key)  # live messages wait behind the replay below
                if (channel.name, key) not in self.subscribed:
                    self.subscribed.add((channel.name, key))
                    await self.hub.join(self.outbox, channel.name, key)
            await self.send({"type": "subscribed", "channel": channel.name, **listed})
            if from_seq is not None:
                for key in keys:
                    replayed = await self.hub.replay(self.outbox, channel, key, from_seq)
                    await self.send({"type": "replayed", "channel": channel.name, channel.key_field: key,
                                     "after_seq": from_seq, "count": replayed})
        else:
            for key in keys:
                if (channel.name, key) in self.subscribed:
                    self.subscribed.discard((channel.name, key))
                    await self.hub.leave(self.outbox, channel.name, key)
            await self.send({"type": "unsubscribed", "channel": channel.name, **listed})

    async def _keys(self, channel: Channel, message: dict) -> list[str | None] | None:
        """The channel's keys named in a subscribe message, canonical; None after an error frame."""
        if channel.keys_field is None:
            return [None]
        raw = message.get(channel.keys_field, message.get("keys"))
        if not isinstance(raw, list) or not raw or len(raw) > self.limits.max_subscriptions:
            await self.error(f"INVALID_{channel.keys_field.upper()}",
                             f"{channel.keys_field} is a list of 1 to {self.limits.max_subscriptions} items")
            return None
        keys: list[str | None] = []
        code = "INVALID_SYMBOL" if channel.key == "pair" else f"INVALID_{channel.key.upper()}"
        for item in raw:
            try:
                keys.append(channel.parse_key(item))
            except BadKeyError as exc:
                await self.error(code, str(exc), **{channel.key_field: str(item)[:40]})
                return None
        listed = await self.hub.catalog.keys(channel.listed_by) if channel.listed_by and self.hub.catalog else None
        unlisted = [key for key in keys if listed is not None and key not in listed]
        if unlisted:
            await self.error(code, f"Not streamed on {channel.name}: {', '.join(unlisted)}",
                             **{channel.key_field: unlisted[0], "supported": sorted(listed)})
            return None
        return keys

    async def close_all(self) -> None:
        for channel, key in list(self.subscribed):
            await self.hub.leave(self.outbox, channel, key)
        self.subscribed.clear()


class Sweeper:
    """One task keeps every connection's clock: heartbeats, the idle close and the slow close. (A task per
    connection waking every second costs 10,000 wake-ups a second at 10,000 clients.)"""

    def __init__(self, limits: WsSettings):
        self.limits = limits
        self.sessions: set[Session] = set()
        self.every = min(1.0, limits.heartbeat_seconds / 2)
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def sweep(self, now: float) -> None:
        limits, heartbeat = self.limits, None
        for session in self.sessions:
            full_since = session.outbox.full_since
            if full_since and now - full_since > limits.slow_seconds:
                session.end(CLOSE_SLOW)
            elif now - session.last_heard > limits.idle_seconds:
                session.end(CLOSE_IDLE)
            elif now - session.last_beat >= limits.heartbeat_seconds:
                if heartbeat is None:
                    heartbeat = {"type": "heartbeat", "timestamp": now_ms()}
                    text = orjson.dumps(heartbeat).decode()  # once for every client due
                session.last_beat = now
                session.outbox.notice(heartbeat, text)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                self.sweep(time.monotonic())
            except Exception:  # one bad sweep must not stop the clock for every client
                log.exception("websocket sweep failed")


async def _writer(session: Session) -> None:
    """Sends the outbox as it fills (a client that does not read blocks only this task)."""
    outbox = session.outbox
    while True:
        await outbox.ready.wait()
        for frame in outbox.drain():
            await session.ws.send_text(frame)


async def _reader(session: Session) -> int | None:
    while True:
        message = await session.ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        session.last_heard = time.monotonic()
        text = message.get("text")
        if text is None:  # a binary frame: the protocol is JSON text
            await session.error("UNSUPPORTED_DATA", "Messages are JSON text frames; binary frames are not accepted")
            return CLOSE_UNSUPPORTED
        if len(text.encode()) > session.limits.max_message_bytes:
            await session.error("MESSAGE_TOO_BIG", "Message over the size limit",
                                limit=session.limits.max_message_bytes)
            return CLOSE_TOO_BIG
        if session.flooding():
            await session.error("FLOOD", "Too many messages", limit_per_second=session.limits.max_messages_per_second)
            return CLOSE_FLOOD
        await session.handle(text)


async def serve(ws: WebSocket, names: tuple[str, ...] | None = None) -> None:
    """Run one client connection until it ends, either side; `names` are the channels of the endpoint (all
    of them when None)."""
    state = ws.app.state.gateway
    hub, sweeper = state.hub, state.sweeper
    limits = sweeper.limits
    if state.ws_connections >= limits.max_connections:
        await ws.close(code=CLOSE_BUSY, reason="too many connections")
        return
    await ws.accept()
    state.ws_connections += 1
    channels = hub.channels if names is None else {name: hub.channels[name] for name in names}
    session = Session(ws, hub, limits, channels)
    tasks = [asyncio.create_task(_reader(session)), asyncio.create_task(_writer(session))]
    sweeper.sessions.add(session)
    try:
        await session.send({"type": "connection", "status": "connected", "channels": list(channels),
                            "heartbeat_seconds": limits.heartbeat_seconds, "idle_seconds": limits.idle_seconds})
        done, _ = await asyncio.wait([*tasks, session.ended], return_when=asyncio.FIRST_COMPLETED)
        finished = done.pop()
        code = None if finished.exception() else finished.result()
        if code is not None:
            # A client that does not read may never take the close frame: do not wait on it for long.
            await asyncio.wait_for(ws.close(code=code, reason=CLOSE_REASONS.get(code, "")), timeout=5)
    except (TimeoutError, WebSocketDisconnect, RuntimeError):
        pass
    finally:
        sweeper.sessions.discard(session)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await session.close_all()
        state.ws_connections -= 1


@router.websocket("/ws/ticker")
async def ws_ticker(ws: WebSocket) -> None:
    await serve(ws, ("ticker",))


@router.websocket("/ws/trades")
async def ws_trades(ws: WebSocket) -> None:
    await serve(ws, ("trades",))


@router.websocket("/ws")
async def ws_any(ws: WebSocket) -> None:
    await serve(ws)
