"""The NATS connection every service holds: connects in the background and keeps reconnecting."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import orjson
from nats.aio.client import Client

log = logging.getLogger("dm.bus")

SCHEMA_VERSION = 1


class Bus:
    """A NATS connection that never blocks start-up: publishing before it is up raises, health shows it."""

    def __init__(self, url: str, *, name: str, on_down: Callable[[], Awaitable[None]] | None = None,
                 on_up: Callable[[], Awaitable[None]] | None = None):
        self.url = url
        self.name = name
        self.nc: Client | None = None
        self._task: asyncio.Task | None = None
        self._on_down, self._on_up = on_down, on_up

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
        if self._on_down:
            await self._on_down()

    async def _reconnected(self) -> None:
        if self._on_up:
            await self._on_up()

    async def publish(self, subject: str, payload: dict[str, Any]) -> None:
        """Publish a JSON payload stamped with the schema version."""
        if not self.connected:
            raise ConnectionError("NATS is not connected")
        await self.nc.publish(subject, orjson.dumps({"schema": SCHEMA_VERSION, **payload}))

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
