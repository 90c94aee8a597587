"""Everything the gateway opens in its lifespan, in one place for the routes, the /api proxy and /ws."""

from dataclasses import dataclass, field

from pymongo import AsyncMongoClient

from dm_shared.bus import Bus
from dm_shared.cache import Cache
from dm_shared.clock import now_ms
from dm_shared.health import OK
from dm_shared.mongo import open_mongo

from gateway.access import Access
from gateway.catalog import Catalog
from gateway.channels import CHANNELS
from gateway.connections import ConnectionCap
from gateway.keys import KeyRing, KeyStore
from gateway.limiter import Limiter
from gateway.openapi import OpenApiMerger
from gateway.registry import SERVICES
from gateway.services import ServiceClient
from gateway.settings import GatewaySettings
from gateway.streams import Hub
from gateway.tokens import TokenVerifier
from gateway.ws import Sweeper


@dataclass
class GatewayState:
    """The gateway's connections and websocket hub; `open` in the lifespan, `close` after it."""

    settings: GatewaySettings
    services: ServiceClient = field(init=False)
    cache: Cache = field(init=False)
    bus: Bus = field(init=False)
    hub: Hub = field(init=False)
    sweeper: Sweeper = field(init=False)
    mongo: AsyncMongoClient = field(init=False)
    openapi: OpenApiMerger = field(init=False)
    keys: KeyStore = field(init=False)
    ring: KeyRing = field(init=False)
    access: Access = field(init=False)
    ws_connections: int = 0

    async def open(self) -> None:
        settings = self.settings
        self.services = ServiceClient({s.name: settings.url_of(s) for s in SERVICES}, timeout=settings.service_timeout)
        self.cache = Cache(settings.redis_url, stale_seconds=settings.cache_stale_seconds)
        self.bus = Bus(settings.nats_url, name="gateway", on_down=self._bus_down, on_up=self._bus_up)
        self.hub = Hub(self.bus, {c.name: c for c in (*CHANNELS, *settings.ws.channels)}, Catalog(self.services))
        self.sweeper = Sweeper(settings.ws)
        self.sweeper.start()
        await self.bus.start()
        self.mongo = open_mongo(settings.mongo_url)
        self.openapi = OpenApiMerger(self.services)
        self.keys = KeyStore.at(self.mongo, settings.mongo_url)
        self.ring = KeyRing(self.keys, settings.keys_refresh_seconds)
        self.ring.start()
        limiter = Limiter(settings.redis_url, fail_open=settings.rate_fail_open) if settings.rate_limits else None
        connections = ConnectionCap(settings.redis_url, settings.ws.max_connections_per_ip)
        connections.start()
        tokens = None
        if settings.jwt_secret or settings.jwt_jwks_url:
            tokens = TokenVerifier(secret=settings.jwt_secret.get_secret_value() if settings.jwt_secret else None,
                                   jwks_url=settings.jwt_jwks_url, algorithms=settings.jwt_algorithms or None,
                                   audience=settings.jwt_audience, issuer=settings.jwt_issuer)
        self.access = Access(settings, ring=self.ring, limiter=limiter, tokens=tokens, connections=connections)

    async def close(self) -> None:
        await self.ring.stop()
        if self.access.limiter is not None:
            await self.access.limiter.close()
        await self.access.connections.close()
        await self.sweeper.stop()
        await self.bus.close()
        await self.mongo.close()
        await self.cache.close()
        await self.services.close()

    async def _bus_down(self) -> None:
        self.hub.broadcast({"type": "status", "status": "degraded", "reason": "bus reconnecting",
                            "timestamp": now_ms()})

    async def _bus_up(self) -> None:
        await self.hub.resubscribe()
        self.hub.broadcast({"type": "status", "status": OK, "timestamp": now_ms()})
