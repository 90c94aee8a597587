"""Publishes normalized events onto NATS: tickers on core subjects, trades into JetStream."""

import logging
from collections import defaultdict

import orjson
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError

from dm_shared.bus import Bus
from dm_shared.subjects import TRADES_STREAM, TRADES_WILDCARD, ticker_subject, trades_subject

from stream_svc.domain.messages import Ticker, Trade

log = logging.getLogger("stream.publisher")


class Publisher:
    """Numbers each symbol's ticks and trades in sequence and publishes them; a lost publish leaves a gap
    in the numbers, which consumers see and announce."""

    def __init__(self, bus: Bus, *, producer: str, max_age: float, max_messages: int):
        self.bus = bus
        self.producer = producer
        self.config = StreamConfig(name=TRADES_STREAM, subjects=[TRADES_WILDCARD], max_age=max_age,
                                   max_msgs=max_messages, storage=StorageType.FILE)
        self.seq: defaultdict[tuple[str, str, str], int] = defaultdict(int)
        self.published = 0
        self.dropped = 0
        self._stream_ready = False

    async def _ensure_stream(self) -> None:
        js = self.bus.nc.jetstream()
        try:
            await js.add_stream(self.config)
        except BadRequestError:  # exists with another configuration: bring it to ours
            await js.update_stream(self.config)
        self._stream_ready = True

    async def resume(self, exchange: str, symbol: str) -> None:
        """Continue a symbol's trade numbering from the last trade in JetStream (after a takeover)."""
        try:
            last = await self.bus.nc.jetstream().get_last_msg(TRADES_STREAM, trades_subject(exchange, symbol))
            self.seq["trade", exchange, symbol] = max(self.seq["trade", exchange, symbol],
                                                      orjson.loads(last.data)["seq"])
        except Exception as exc:  # no trade yet, or no stream: numbering starts at 1
            log.debug("no earlier trades of %s: %s", symbol, exc)

    async def publish(self, event: Ticker | Trade) -> None:
        """Publish one event with the next sequence number of its symbol."""
        kind = "trade" if isinstance(event, Trade) else "ticker"
        key = (kind, event.exchange, event.symbol)
        self.seq[key] += 1
        payload = orjson.dumps({**event.to_message(self.seq[key]), "producer": self.producer})
        try:
            if not self.bus.connected:
                raise ConnectionError("NATS is not connected")
            if isinstance(event, Trade):
                if not self._stream_ready:
                    await self._ensure_stream()
                await self.bus.nc.jetstream().publish(
                    trades_subject(event.exchange, event.symbol), payload,
                    headers={"Nats-Msg-Id": f"{event.exchange}:{event.symbol}:{event.id}"})
            else:
                await self.bus.nc.publish(ticker_subject(event.exchange, event.symbol), payload)
            self.published += 1
        except Exception as exc:  # a publish that fails is a gap, never a crash of the feed
            self.dropped += 1
            self._stream_ready = False
            log.warning("could not publish %s %s #%d: %s", kind, event.symbol, self.seq[key], exc)
