"""stream-svc: the app factory and its lifespan (the feed runs as a background task)."""

import asyncio
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from dm_shared.app import create_service_app
from dm_shared.bus import Bus
from dm_shared.envelope import JsonResponse, now_ms
from dm_shared.health import DEGRADED, DOWN, OK, http_status, probe
from dm_shared.logs import configure_logging

from stream_svc.adapters.binance_ws import BinanceFeed
from stream_svc.publisher import Publisher
from stream_svc.settings import get_settings

log = logging.getLogger("stream")


async def _run(feed: BinanceFeed, publisher: Publisher) -> None:
    async for event in feed.events():
        if event == "reconnected":
            log.info("binance feed reconnected (%d so far)", feed.reconnects)
            continue
        await publisher.publish(event)


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings = get_settings()
    configure_logging("stream-svc", settings.log_level)
    bus = Bus(settings.nats_url, name="stream-svc")
    await bus.start()
    feed = BinanceFeed(settings.binance_ws_url, settings.symbols, watchdog=settings.watchdog_seconds,
                       max_backoff=settings.reconnect_max_seconds)
    publisher = Publisher(bus, max_age=settings.trades_max_age_seconds, max_messages=settings.trades_max_messages)
    task = asyncio.create_task(_run(feed, publisher), name="binance-feed")
    app.state.bus, app.state.feed, app.state.publisher = bus, feed, publisher
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await bus.close()


def create_app() -> FastAPI:
    """The stream-svc ASGI app."""
    app = create_service_app(title="stream-svc", version="0.1.0", lifespan=lifespan,
                             description="Exchange websocket streams, normalized onto NATS.")

    @app.get("/health", include_in_schema=False)
    async def health() -> JsonResponse:
        """The feed (connected, last message age, reconnects), what was published, and the bus."""
        feed, publisher = app.state.feed, app.state.publisher
        loop = asyncio.get_running_loop()
        age = round(loop.time() - feed.last_message_at, 1) if feed.last_message_at else None
        feeds = {"binance": {"status": OK if feed.connected else DOWN, "last_message_age_s": age,
                             "reconnects": feed.reconnects, "streams": sorted(feed.names)}}
        nats = await probe(app.state.bus.check)
        status = OK if feed.connected and nats["status"] == OK else (DEGRADED if feed.connected else DOWN)
        return JsonResponse({"status": status, "service": "stream-svc", "timestamp": now_ms(), "feeds": feeds,
                             "published": publisher.published, "dropped": publisher.dropped, "nats": nats},
                            status_code=http_status(status))

    return app
