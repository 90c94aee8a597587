"""Binance websocket market streams (wss://stream.binance.com:9443) on the binance listener.

`<symbol>@trade` replays the recorded trades in a cycle with ids that keep increasing, times set to now and prices
re-priced like REST `/api/v3/trades`; `<symbol>@ticker` is REST `ticker/24hr` of the moment (both derived from the
time-shifted hourly history, see data/README.md). One producer per
stream feeds every connection subscribed to it, at the hub's rate (messages per second per stream), so all
connections see the same sequence, each in replay order.
"""

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from fastapi import FastAPI, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketDisconnected, WebSocketState

from sandbox.binance_market import ticker_24hr, trade_price
from sandbox.fixtures import load_json
from sandbox.history import History
from sandbox.responses import json_response

logger = logging.getLogger("sandbox")

# Binance stream names: lowercase symbol (or "!" for all-market streams), then "@" and the stream type.
STREAM_NAME = re.compile(r"^!?[a-z0-9]+@[A-Za-z0-9_@]+$")
METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
MAX_STREAMS = 1024  # Binance's limit of streams per connection
MAX_PENDING = 10_000  # messages queued for one connection before it is closed as too slow to read them
SILENCE_POLL = 0.05  # seconds between checks whether a silence fault was cleared
# A docs example and a recording give the field order of the two event types (see data/README.md).
TICKER_LAYOUT_FILE = "binance/ws_24hrTicker_BNBBTC_docs_example.json"
ETH_TRADE_FILE = "binance/ws_trade_ETHUSDT_combined_stream.json"
# The 2021 recording still carries the buyer/seller order ids, which Binance no longer sends and nothing here knows.
DROPPED_TRADE_FIELDS = ("b", "a")


class Feed(Protocol):
    """The n-th event of one stream (n counts from 0 over the sandbox's lifetime)."""

    def event(self, n: int, now: int) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class RecordedTrade:
    """The recorded part of a trade: id, price, quantity and side."""

    id: int
    price: str
    qty: str
    buyer_maker: bool
    best_match: bool


class TradeFeed:
    """`<symbol>@trade`: the recorded trades in a cycle; each cycle continues the ids, times are now, and
    `price(recorded price, now)` gives the served price."""

    def __init__(self, symbol: str, trades: list[RecordedTrade], layout: list[str],
                 price: Callable[[str, int], str]) -> None:
        if not trades:
            raise ValueError(f"no recorded trades for {symbol}")
        self.symbol = symbol
        self.trades = sorted(trades, key=lambda t: t.id)
        # Ids of cycle k are the recorded ids + k * span, so they increase across cycles.
        self.span = self.trades[-1].id - self.trades[0].id + 1
        self.layout = layout
        self.price = price

    def event(self, n: int, now: int) -> dict[str, Any]:
        cycle, index = divmod(n, len(self.trades))
        trade = self.trades[index]
        values = {"e": "trade", "E": now, "s": self.symbol, "t": trade.id + cycle * self.span,
                  "p": self.price(trade.price, now), "q": trade.qty, "T": now, "m": trade.buyer_maker,
                  "M": trade.best_match}
        return {key: values[key] for key in self.layout}


# 24hrTicker event key -> REST ticker/24hr field (e, E and s are the event's own).
TICKER_FIELDS = {
    "p": "priceChange", "P": "priceChangePercent", "w": "weightedAvgPrice", "x": "prevClosePrice",
    "c": "lastPrice", "Q": "lastQty", "b": "bidPrice", "B": "bidQty", "a": "askPrice", "A": "askQty",
    "o": "openPrice", "h": "highPrice", "l": "lowPrice", "v": "volume", "q": "quoteVolume",
    "O": "openTime", "C": "closeTime", "F": "firstId", "L": "lastId", "n": "count",
}


class TickerFeed:
    """`<symbol>@ticker`: REST `ticker/24hr` of the moment the event is made, in the event's field names."""

    def __init__(self, symbol: str, history: History, layout: list[str]) -> None:
        self.symbol = symbol
        self.history = history
        self.layout = layout

    def event(self, n: int, now: int) -> dict[str, Any]:
        ticker = ticker_24hr(self.history, self.symbol, now)
        values = {"e": "24hrTicker", "E": now, "s": self.symbol,
                  **{key: ticker[field] for key, field in TICKER_FIELDS.items()}}
        return {key: values[key] for key in self.layout}


def _trade_feed(history: History, symbol: str, trades: list[RecordedTrade], layout: list[str]) -> TradeFeed:
    # Re-priced so the newest recorded trade is at the current price, as REST /api/v3/trades does.
    newest = max(trades, key=lambda t: t.id)
    return TradeFeed(symbol, trades, layout, trade_price(history, symbol, newest.price))


def binance_feeds(history: History) -> dict[str, Feed]:
    """Every stream the sandbox has data for, by Binance stream name."""
    ticker_layout = list(load_json(TICKER_LAYOUT_FILE))
    eth = load_json(ETH_TRADE_FILE)["data"]
    trade_layout = [key for key in eth if key not in DROPPED_TRADE_FIELDS]
    btc_trades = [RecordedTrade(r["id"], r["price"], r["qty"], r["isBuyerMaker"], r["isBestMatch"])
                  for r in load_json("binance/trades_BTCUSDT.json")]
    eth_trades = [RecordedTrade(eth["t"], eth["p"], eth["q"], eth["m"], eth["M"])]
    feeds: dict[str, Feed] = {
        "btcusdt@trade": _trade_feed(history, "BTCUSDT", btc_trades, trade_layout),
        "ethusdt@trade": _trade_feed(history, "ETHUSDT", eth_trades, trade_layout),
    }
    for symbol in history.symbols:
        feeds[f"{symbol.lower()}@ticker"] = TickerFeed(symbol, history, ticker_layout)
    return feeds


class Outgoing:
    """One stream event, rendered once per wire form (raw data or the combined-stream wrapper)."""

    __slots__ = ("_combined", "_raw", "data", "stream")

    def __init__(self, stream: str, data: dict[str, Any]) -> None:
        self.stream = stream
        self.data = data
        self._raw: str | None = None
        self._combined: str | None = None

    def text(self, combined: bool) -> str:
        if self._raw is None:
            raw = orjson.dumps(self.data)
            self._raw = raw.decode()
            self._combined = (b'{"stream":' + orjson.dumps(self.stream) + b',"data":' + raw + b"}").decode()
        return self._combined if combined else self._raw


class _Stream:
    """A stream with data: its sequence number survives idle periods, so ids never repeat."""

    def __init__(self, name: str, feed: Feed) -> None:
        self.name = name
        self.feed = feed
        self.seq = 0
        self.subscribers: set[Connection] = set()
        self.task: asyncio.Task[None] | None = None


class StreamHub:
    """Streams, their producers and the open connections of one listener."""

    def __init__(self, feeds: dict[str, Feed], clock: Callable[[], int], rate: float = 1.0,
                 silenced: Callable[[str], bool] = lambda path: False) -> None:
        if rate <= 0:
            raise ValueError("stream rate must be positive")
        self._streams = {name: _Stream(name, feed) for name, feed in feeds.items()}
        self._clock = clock
        self._rate = float(rate)
        self._rate_changed = asyncio.Event()
        self.silenced = silenced
        self.connections: set[Connection] = set()

    @property
    def rate(self) -> float:
        """Messages per second per stream."""
        return self._rate

    def set_rate(self, rate: float) -> None:
        """Change the rate; sleeping producers wake up and use it at once."""
        if rate <= 0:
            raise ValueError("stream rate must be positive")
        self._rate = float(rate)
        changed, self._rate_changed = self._rate_changed, asyncio.Event()
        changed.set()

    def served(self) -> list[str]:
        """Names of the streams that carry data."""
        return sorted(self._streams)

    def snapshot(self) -> dict[str, Any]:
        """Rate, open connections and subscribers per served stream."""
        return {"rate": self._rate, "connections": len(self.connections),
                "subscriptions": {name: len(s.subscribers) for name, s in sorted(self._streams.items())
                                  if s.subscribers}}

    def subscribe(self, connection: "Connection", names: list[str]) -> None:
        for name in names:
            stream = self._streams.get(name)
            if stream is None:
                continue  # a stream without data: accepted, stays silent
            stream.subscribers.add(connection)
            if stream.task is None or stream.task.done():
                stream.task = asyncio.get_running_loop().create_task(self._produce(stream), name=f"stream-{name}")

    def unsubscribe(self, connection: "Connection", names: list[str]) -> None:
        for name in names:
            stream = self._streams.get(name)
            if stream is not None:
                stream.subscribers.discard(connection)

    async def close(self) -> None:
        """Stop every producer."""
        tasks = [s.task for s in self._streams.values() if s.task is not None and not s.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _produce(self, stream: _Stream) -> None:
        loop = asyncio.get_running_loop()
        tick = loop.time()
        while stream.subscribers:
            message = Outgoing(stream.name, stream.feed.event(stream.seq, self._clock()))
            stream.seq += 1
            for connection in list(stream.subscribers):
                connection.push(message)
            tick = await self._next_tick(loop, tick)

    async def _next_tick(self, loop: asyncio.AbstractEventLoop, tick: float) -> float:
        """Sleep until one interval after tick; a rate change recomputes the interval at once."""
        while True:
            changed = self._rate_changed
            due = tick + 1 / self._rate
            delay = due - loop.time()
            if delay <= 0:
                break
            try:
                async with asyncio.timeout(delay):
                    await changed.wait()
            except TimeoutError:
                break
        now = loop.time()
        # More than one interval late (a busy loop): carry on from now instead of sending a burst.
        return due if now - due < 1 / self._rate else now

    async def serve(self, websocket: WebSocket, names: list[str], combined: bool) -> None:
        """Run one client connection until it closes."""
        if any(not STREAM_NAME.match(name) for name in names) or len(names) > MAX_STREAMS:
            await websocket.send_denial_response(
                json_response({"code": 2, "msg": "Invalid request: invalid stream"}, status_code=400))
            return
        await Connection(self, websocket, combined).run(names)


class Connection:
    """One client: subscriptions, the control frames it sends and one ordered queue of what it receives."""

    def __init__(self, hub: StreamHub, websocket: WebSocket, combined: bool) -> None:
        self.hub = hub
        self.websocket = websocket
        self.combined = combined
        self.path: str = websocket.scope["path"]
        self.subscriptions: dict[str, None] = {}  # ordered set
        self._queue: asyncio.Queue[Outgoing | str] = asyncio.Queue(MAX_PENDING)
        self._overflow = asyncio.Event()

    def push(self, item: Outgoing | str) -> None:
        """Queue a stream event or a reply; a client that falls MAX_PENDING behind is closed."""
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self._overflow.set()

    def _subscribe(self, names: list[str]) -> None:
        fresh = [name for name in names if name not in self.subscriptions]
        self.subscriptions.update(dict.fromkeys(fresh))
        self.hub.subscribe(self, fresh)

    def _unsubscribe(self, names: list[str]) -> None:
        for name in names:
            self.subscriptions.pop(name, None)
        self.hub.unsubscribe(self, names)

    async def run(self, names: list[str]) -> None:
        await self.websocket.accept()
        self.hub.connections.add(self)
        tasks: list[asyncio.Task[Any]] = []
        try:
            self._subscribe(names)
            tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._write()),
                     asyncio.create_task(self._overflow.wait())]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if self._overflow.is_set() and self.websocket.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(WebSocketDisconnect, WebSocketDisconnected, OSError, RuntimeError):
                    await self.websocket.close(1008, "too slow to read the stream")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._unsubscribe(list(self.subscriptions))
            self.hub.connections.discard(self)

    async def _read(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", "replace")
            self.push(orjson.dumps(self._answer(text)).decode())

    async def _write(self) -> None:
        while True:
            item = await self._queue.get()
            is_event = isinstance(item, Outgoing)
            if is_event and item.stream not in self.subscriptions:
                continue  # queued before an UNSUBSCRIBE
            if self.hub.silenced(self.path):
                if is_event:
                    continue  # events of a silence are lost, as on a stalled feed
                while self.hub.silenced(self.path):  # noqa: ASYNC110 (replies wait until the silence is cleared)
                    await asyncio.sleep(SILENCE_POLL)
            try:
                await self.websocket.send_text(item.text(self.combined) if is_event else item)
            except (WebSocketDisconnect, WebSocketDisconnected, OSError, RuntimeError):
                return

    def _answer(self, text: str) -> dict[str, Any]:
        """Binance's reply to one control frame; SUBSCRIBE/UNSUBSCRIBE act before the reply is queued."""
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            return _error(3, f"Invalid JSON: {exc}", None)
        if not isinstance(request, dict):
            return _error(2, "Invalid request: expected an object", None)
        request_id = request.get("id")
        if isinstance(request_id, bool) or not (
                request_id is None or isinstance(request_id, int) or
                (isinstance(request_id, str) and len(request_id) <= 36)):
            return _error(2, "Invalid request: request ID must be an unsigned integer", None)
        method = request.get("method")
        params = request.get("params", [])
        if method not in METHODS:
            expected = ", ".join(f"`{m}`" for m in METHODS)
            return _error(2, f"Invalid request: unknown variant `{method}`, expected one of {expected}", request_id)
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                return _error(2, "Invalid request: params must be an array of stream names", request_id)
            if any(not STREAM_NAME.match(p) for p in params):
                return _error(2, "Invalid request: invalid stream", request_id)
            if method == "SUBSCRIBE":
                if len(set(self.subscriptions) | set(params)) > MAX_STREAMS:
                    return _error(2, f"Invalid request: too many streams (at most {MAX_STREAMS})", request_id)
                self._subscribe(params)
            else:
                self._unsubscribe(params)
            return {"result": None, "id": request_id}
        if method == "LIST_SUBSCRIPTIONS":
            return {"result": list(self.subscriptions), "id": request_id}
        if not isinstance(params, list) or not params or params[0] != "combined":
            return _error(0, "Unknown property", request_id)
        if method == "GET_PROPERTY":
            return {"result": self.combined, "id": request_id}
        if len(params) != 2 or not isinstance(params[1], bool):
            return _error(1, "Invalid value type: expected Boolean", request_id)
        self.combined = params[1]
        return {"result": None, "id": request_id}


def _error(code: int, msg: str, request_id: Any) -> dict[str, Any]:
    return {"error": {"code": code, "msg": msg}, "id": request_id}


def add_routes(app: FastAPI, hub: StreamHub) -> None:
    """Combined streams at /stream?streams=a/b, raw streams at /ws/<name> (and /ws, to SUBSCRIBE later)."""

    @app.websocket("/stream")
    async def combined_streams(websocket: WebSocket) -> None:
        names = [name for name in websocket.query_params.get("streams", "").split("/") if name]
        await hub.serve(websocket, names, combined=True)

    @app.websocket("/ws")
    @app.websocket("/ws/{streams:path}")
    async def raw_streams(websocket: WebSocket) -> None:
        names = [name for name in websocket.path_params.get("streams", "").split("/") if name]
        await hub.serve(websocket, names, combined=False)
