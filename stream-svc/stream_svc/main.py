"""stream-svc: the app factory and its lifespan (the feed runs as a background task)."""

import asyncio
import logging
import uuid
from contextlib import asynccontextmanager

from fastapi import FastAPI

from dm_shared.app import create_service_app
from dm_shared.bus import Bus, Publisher
from dm_shared.envelope import JsonResponse
from dm_shared.health import DEPENDENCY, DOWN, OK, component, probe, report
from dm_shared.leases import Leases
from dm_shared.logs import configure_logging
from dm_shared.messages import Ticker, Trade
from dm_shared.subjects import STREAM_LEASES, TRADES, pair_token, ticker_subject, trades_subject

from stream_svc.adapters.binance_ws import VENUE, BinanceFeed
from stream_svc.settings import get_settings

log = logging.getLogger("stream")
VERSION = "0.1.0"


async def publish(publisher: Publisher, event: Ticker | Trade) -> None:
    """One tick on its core subject, or one trade into the TRADES stream, numbered per venue and symbol."""
    token = pair_token(event.symbol)
    if isinstance(event, Trade):
        await publisher.publish(trades_subject(event.exchange, token), event, key=("trade", event.exchange,
                                event.symbol), stream=TRADES, msg_id=event.dedup_id)
    else:
        await publisher.publish(ticker_subject(event.exchange, token), event,
                                key=("ticker", event.exchange, event.symbol))


async def _run(feed: BinanceFeed, publisher: Publisher) -> None:
    async for event in feed.events():
        if event == "reconnected":
            log.info("binance feed reconnected (%d so far)", feed.reconnects)
            continue
        await publish(publisher, event)


class FeedManager:
    """Runs one Binance feed for the symbols this replica holds, restarting it when they change."""

    def __init__(self, settings, publisher: Publisher):
        self.settings, self.publisher = settings, publisher
        self.feed: BinanceFeed | None = None
        self._task: asyncio.Task | None = None

    async def stream(self, symbols: set[str]) -> None:
        await self.stop()
        if not symbols:
            return
        for symbol in symbols - set(self.feed.names.values() if self.feed else ()):
            # Another replica may have numbered this symbol's trades: go on from the last one kept.
            await self.publisher.sequencer.resume(("trade", VENUE, symbol), TRADES,
                                                  trades_subject(VENUE, pair_token(symbol)))
        self.feed = BinanceFeed(self.settings.binance_ws_url, sorted(symbols),
                                watchdog=self.settings.watchdog_seconds,
                                max_backoff=self.settings.reconnect_max_seconds)
        self._task = asyncio.create_task(_run(self.feed, self.publisher), name="binance-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings = get_settings()
    configure_logging("stream-svc", settings.log_level)
    replica = settings.replica_id or uuid.uuid4().hex[:12]
    bus = Bus(settings.nats_url, name=f"stream-svc-{replica}")
    bus.declare(TRADES, max_age=settings.trades_max_age_seconds, max_messages=settings.trades_max_messages)
    await bus.start()
    publisher = Publisher(bus, producer=replica)
    manager = FeedManager(settings, publisher)
    leases = Leases(bus, bucket=STREAM_LEASES, replica=replica, ttl=settings.lease_ttl_seconds,
                    renew_every=settings.lease_renew_seconds)
    task = asyncio.create_task(leases.run(settings.symbols, manager.stream), name="leases")
    app.state.bus, app.state.manager, app.state.publisher, app.state.leases = bus, manager, publisher, leases
    app.state.settings = settings
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await manager.stop()
        await bus.close()


def create_app() -> FastAPI:
    """The stream-svc ASGI app."""
    app = create_service_app(title="stream-svc", version=VERSION, lifespan=lifespan,
                             description="Exchange websocket streams, normalized onto NATS.")

    @app.get("/v1/streams", summary="The pairs this deployment streams (every replica streams its share)")
    async def streams() -> dict[str, list[str]]:
        return {"symbols": sorted(app.state.settings.symbols)}

    @app.get("/health", include_in_schema=False)
    async def health() -> JsonResponse:
        """The symbols this replica holds, its feed (connected, last message age, reconnects), what was
        published, and the bus. A replica holding no symbol (more replicas than symbols) is healthy."""
        manager, publisher, leases = app.state.manager, app.state.publisher, app.state.leases
        feed, loop = manager.feed, asyncio.get_running_loop()
        components = {}
        if leases.held and feed is not None:
            age = round(loop.time() - feed.last_message_at, 1) if feed.last_message_at else None
            components[VENUE] = component(DEPENDENCY, {
                "status": OK if feed.connected else DOWN, "last_message_age_s": age, "reconnects": feed.reconnects,
                "streams": sorted(feed.names)}, required=True)
        components["nats"] = component(DEPENDENCY, await probe(app.state.bus.check))
        body, status = report("stream-svc", VERSION, components, replica=leases.replica,
                              symbols=sorted(leases.held), live_replicas=leases.members,
                              published=publisher.published, dropped=publisher.dropped)
        return JsonResponse(body, status_code=status)

    return app
