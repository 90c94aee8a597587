"""What the streaming services publish: the keys each one lists at `GET /v1/streams`, asked at most every
`ttl` seconds, so a websocket client asking for a pair nobody streams is told which ones are."""

import logging
import time

import orjson

from gateway.services import ServiceClient

log = logging.getLogger("gateway.catalog")


class Catalog:
    """The keys each listing service streams, cached."""

    def __init__(self, services: ServiceClient, ttl: float = 30.0):
        self.services = services
        self.ttl = ttl
        self._known: dict[str, tuple[float, set[str]]] = {}

    async def keys(self, service: str) -> set[str] | None:
        """The keys `service` streams; None when it cannot be asked (then a key is not refused for it)."""
        cached = self._known.get(service)
        if cached is not None and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        try:
            response = await self.services.get(service, "/v1/streams")
            keys = set(orjson.loads(response.content)["symbols"])
        except Exception as exc:  # an unreachable or odd service must not stop subscriptions
            log.warning("cannot learn what %s streams: %s", service, exc)
            return cached[1] if cached else None
        self._known[service] = (time.monotonic(), keys)
        return keys
