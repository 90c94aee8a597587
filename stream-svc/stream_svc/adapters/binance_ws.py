"""Binance's combined websocket market stream: connect, parse, reconnect with backoff, restart when silent."""

import asyncio
import logging
import random
from collections.abc import AsyncIterator

import orjson
import websockets

from dm_shared.messages import Ticker, Trade
from dm_shared.names import Venue

log = logging.getLogger("stream.binance")
VENUE = Venue.BINANCE


def stream_names(symbols: list[str]) -> dict[str, str]:
    """Binance stream name -> unified symbol, for the trade and ticker streams of each symbol."""
    names = {}
    for symbol in symbols:
        raw = symbol.replace("/", "").lower()
        names[f"{raw}@trade"] = symbol
        names[f"{raw}@ticker"] = symbol
    return names


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def parse(frame: str | bytes, names: dict[str, str]) -> Ticker | Trade | None:
    """A tick or trade from one combined-stream frame; None for frames that are neither (acks, unknown)."""
    try:
        message = orjson.loads(frame)
    except orjson.JSONDecodeError:
        log.warning("binance sent a frame that is not JSON")
        return None
    symbol = names.get(message.get("stream", "")) if isinstance(message, dict) else None
    data = message.get("data") if symbol else None
    if not isinstance(data, dict):
        return None
    if data.get("e") == "trade" and _float(data.get("p")) is not None:
        return Trade(exchange=VENUE, symbol=symbol, id=str(data.get("t")), price=float(data["p"]),
                     amount=_float(data.get("q")) or 0.0, side="sell" if data.get("m") else "buy",
                     timestamp=int(data.get("T") or data.get("E") or 0))
    if data.get("e") == "24hrTicker" and _float(data.get("c")) is not None:
        return Ticker(exchange=VENUE, symbol=symbol, price=float(data["c"]), change_24h=_float(data.get("P")),
                      volume_24h=_float(data.get("q")), high_24h=_float(data.get("h")),
                      low_24h=_float(data.get("l")), timestamp=int(data.get("E") or 0))
    return None


class BinanceFeed:
    """One websocket for a set of symbols: yields ticks and trades for as long as it runs."""

    def __init__(self, base_url: str, symbols: list[str], *, watchdog: float, max_backoff: float):
        self.names = stream_names(symbols)
        self.url = f"{base_url.rstrip('/')}/stream?streams={'/'.join(self.names)}"
        self.watchdog = watchdog
        self.max_backoff = max_backoff
        self.connected = False
        self.reconnects = 0
        self.last_message_at: float | None = None

    async def events(self) -> AsyncIterator[Ticker | Trade | str]:
        """Ticks and trades; the string "reconnected" after each reconnect, so gaps can be announced."""
        backoff = 0.5
        first = True
        while True:
            try:
                async with websockets.connect(self.url, open_timeout=5, ping_interval=20, max_size=2**20) as ws:
                    self.connected = True
                    if not first:
                        self.reconnects += 1
                        yield "reconnected"
                    first, backoff = False, 0.5
                    while True:
                        frame = await asyncio.wait_for(ws.recv(), timeout=self.watchdog)
                        self.last_message_at = asyncio.get_running_loop().time()
                        event = parse(frame, self.names)
                        if event is not None:
                            yield event
            except TimeoutError:
                log.warning("binance feed silent for %.0fs; restarting it", self.watchdog)
            except (OSError, websockets.WebSocketException) as exc:
                log.warning("binance feed lost (%s); reconnecting in %.1fs", type(exc).__name__, backoff)
            self.connected = False
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, self.max_backoff)
