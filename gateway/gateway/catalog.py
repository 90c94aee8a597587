"""What the streaming services publish: the keys each one lists at `GET /v1/streams`, asked at most every
`ttl` seconds, so a websocket client asking for a pair nobody streams is told which ones are.

Subscriptions arrive in bursts (thousands of clients reconnecting after a deploy), so one question is asked
per service however many subscriptions wait for it, and a service that cannot be asked is not asked again
for `retry` seconds (its last known keys, or none, serve meanwhile, and it is logged once per attempt)."""

import asyncio
import logging
import time

import orjson

from gateway.services import ServiceClient

log = logging.getLogger("gateway.catalog")


class Catalog:
    """The keys each listing service streams, cached."""

    def __init__(self, services: ServiceClient, ttl: float = 30.0, retry: float = 5.0):
        self.services = services
        self.ttl = ttl
        self.retry = retry
        self._known: dict[str, tuple[float, set[str]]] = {}
        self._failed: dict[str, float] = {}  # service -> when it last could not be asked
        self._asking: dict[str, asyncio.Future[set[str] | None]] = {}

    async def keys(self, service: str) -> set[str] | None:
        """The keys `service` streams; None when it cannot be asked (then a key is not refused for it)."""
        now = time.monotonic()
        cached = self._known.get(service)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        failed = self._failed.get(service)
        if failed is not None and now - failed < self.retry:
            return cached[1] if cached else None
        asking = self._asking.get(service)
        if asking is None:
            asking = self._asking[service] = asyncio.ensure_future(self._ask(service))
            asking.add_done_callback(lambda _: self._asking.pop(service, None))
        return await asyncio.shield(asking)  # a subscriber that goes away does not cancel the others' question

    async def _ask(self, service: str) -> set[str] | None:
        cached = self._known.get(service)
        try:
            response = await self.services.get(service, "/v1/streams")
            keys = set(orjson.loads(response.content)["symbols"])
        except Exception as exc:  # an unreachable or odd service must not stop subscriptions
            self._failed[service] = time.monotonic()
            log.warning("cannot learn what %s streams (asked again in %g s): %s", service, self.retry, exc)
            return cached[1] if cached else None
        self._failed.pop(service, None)
        self._known[service] = (time.monotonic(), keys)
        return keys
