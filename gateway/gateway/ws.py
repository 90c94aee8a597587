"""WebSocket endpoints: /ws/ticker, /ws/trades (spec 002 section 8) and /ws for any documented channel.

Close codes: 1000 normal, 1008 flood or policy, 1009 message too big, 1013 too many connections,
4000 client silent past the idle limit, 4008 client too slow to keep up.
"""

import asyncio
import logging
import re
import time

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel

from dm_shared.clock import now_ms
from dm_shared.envelope import error_body

from gateway.streams import CHANNELS, Hub, Outbox

log = logging.getLogger("gateway.ws")
router = APIRouter()
_PAIR = re.compile(r"^([A-Z0-9]{1,15})[/\-_]([A-Z0-9]{1,15})$")
CLOSE_IDLE, CLOSE_SLOW, CLOSE_FLOOD, CLOSE_TOO_BIG, CLOSE_BUSY = 4000, 4008, 1008, 1009, 1013


class Limits(BaseModel):
    """WebSocket limits, the `ws` section of the gateway settings (GATEWAY_WS__MAX_CONNECTIONS ...)."""

    max_connections: int = 10_000
    max_subscriptions: int = 50
    max_message_bytes: int = 4096
    max_messages_per_second: float = 20.0
    heartbeat_seconds: float = 30.0
    idle_seconds: float = 60.0
    max_pending_trades: int = 1000
    slow_seconds: float = 10.0


class Session:
    """One client connection: its subscriptions, its outbox, its limits."""

    def __init__(self, ws: WebSocket, hub: Hub, limits: Limits, channels: tuple[str, ...]):
        self.ws, self.hub, self.limits, self.channels = ws, hub, limits, channels
        self.outbox = Outbox(limits.max_pending_trades)
        self.subscribed: set[tuple[str, str]] = set()
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
        if action == "ping":
            await self.send({"type": "pong", "timestamp": now_ms()})
            return
        if action not in ("subscribe", "unsubscribe"):
            await self.error("INVALID_ACTION", "action is subscribe, unsubscribe or ping", action=str(action)[:32])
            return
        channel = message.get("channel", self.channels[0] if len(self.channels) == 1 else None)
        if channel not in self.channels:
            await self.error("INVALID_CHANNEL", "Unknown channel on this endpoint", channels=list(self.channels))
            return
        raw = message.get("symbols")
        if not isinstance(raw, list) or not raw or len(raw) > self.limits.max_subscriptions:
            await self.error("INVALID_SYMBOLS", f"symbols is a list of 1 to {self.limits.max_subscriptions} pairs")
            return
        pairs = []
        for symbol in raw:
            match = _PAIR.match(symbol.strip().upper()) if isinstance(symbol, str) else None
            if not match:
                await self.error("INVALID_SYMBOL", "Symbols are pairs such as BTC/USDT", symbol=str(symbol)[:40])
                return
            pairs.append(f"{match.group(1)}/{match.group(2)}")
        from_seq = message.get("from_seq")
        if from_seq is not None and (channel != "trades" or action != "subscribe" or not isinstance(from_seq, int)
                                     or isinstance(from_seq, bool) or from_seq < 0):
            await self.error("INVALID_FROM_SEQ", "from_seq is a sequence number (>= 0) to resume trades after")
            return
        if action == "subscribe":
            if len(self.subscribed | {(channel, p) for p in pairs}) > self.limits.max_subscriptions:
                await self.error("TOO_MANY_SUBSCRIPTIONS", "Subscription limit reached",
                                 limit=self.limits.max_subscriptions)
                return
            for pair in pairs:
                if from_seq is not None:
                    self.outbox.hold(channel, pair)  # live trades wait behind the replay below
                if (channel, pair) not in self.subscribed:
                    self.subscribed.add((channel, pair))
                    await self.hub.join(self.outbox, channel, pair)
            await self.send({"type": "subscribed", "channel": channel, "symbols": pairs})
            if from_seq is not None:
                for pair in pairs:
                    replayed = await self.hub.replay(self.outbox, channel, pair, from_seq)
                    await self.send({"type": "replayed", "channel": channel, "symbol": pair,
                                     "after_seq": from_seq, "count": replayed})
        else:
            for pair in pairs:
                if (channel, pair) in self.subscribed:
                    self.subscribed.discard((channel, pair))
                    await self.hub.leave(self.outbox, channel, pair)
            await self.send({"type": "unsubscribed", "channel": channel, "symbols": pairs})

    async def close_all(self) -> None:
        for channel, pair in list(self.subscribed):
            await self.hub.leave(self.outbox, channel, pair)
        self.subscribed.clear()


class Sweeper:
    """One task keeps every connection's clock: heartbeats, the idle close and the slow close. (A task per
    connection waking every second costs 10,000 wake-ups a second at 10,000 clients.)"""

    def __init__(self, limits: Limits):
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
        text = await session.ws.receive_text()
        session.last_heard = time.monotonic()
        if len(text.encode()) > session.limits.max_message_bytes:
            await session.error("MESSAGE_TOO_BIG", "Message over the size limit",
                                limit=session.limits.max_message_bytes)
            return CLOSE_TOO_BIG
        if session.flooding():
            await session.error("FLOOD", "Too many messages", limit_per_second=session.limits.max_messages_per_second)
            return CLOSE_FLOOD
        await session.handle(text)


async def serve(ws: WebSocket, channels: tuple[str, ...]) -> None:
    """Run one client connection until it ends, either side."""
    state = ws.app.state
    hub, sweeper = state.hub, state.ws_sweeper
    limits = sweeper.limits
    if state.ws_connections >= limits.max_connections:
        await ws.close(code=CLOSE_BUSY, reason="too many connections")
        return
    await ws.accept()
    state.ws_connections += 1
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
            await asyncio.wait_for(ws.close(code=code), timeout=5)
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
    await serve(ws, tuple(CHANNELS))
