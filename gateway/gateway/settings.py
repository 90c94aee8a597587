"""Gateway settings (env prefix GATEWAY_)."""

import os
from functools import lru_cache
from typing import Any

from dotenv import dotenv_values
from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from dm_shared.cache import TTL
from dm_shared.settings import CommonSettings

from gateway.channels import Channel
from gateway.registry import SERVICES, Service


class WsSettings(BaseModel):
    """The websocket section (GATEWAY_WS__MAX_CONNECTIONS ...): limits, and channels beyond the built-in table."""

    max_connections: int = 10_000
    # Open connections one client address may hold, across every gateway replica.
    max_connections_per_ip: int = 50
    max_subscriptions: int = 50
    max_message_bytes: int = 4096
    # The largest frame the server reads at all (a bigger one is closed with 1009 before it is buffered).
    max_frame_bytes: int = 65536
    max_messages_per_second: float = 20.0
    heartbeat_seconds: float = 30.0
    idle_seconds: float = 60.0
    max_pending_trades: int = 1000
    slow_seconds: float = 10.0
    # Rows added to gateway.channels.CHANNELS, as JSON: [{"name", "subject", "key", "delivery", "fields"}].
    channels: list[Channel] = []


class _ServiceUrls(PydanticBaseSettingsSource):
    """GATEWAY_<NAME>_URL for every service in the registry, from the environment or .env."""

    def get_field_value(self, field, field_name):  # the source fills one field as a whole, below
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found = {**dotenv_values(".env"), **os.environ}
        urls = {s.name: found[s.url_setting] for s in SERVICES if found.get(s.url_setting)}
        return {"service_urls": urls} if urls else {}


class GatewaySettings(CommonSettings):
    """Where the services are and how the gateway treats them."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_")  # the rest as in CommonSettings

    # Filled from GATEWAY_<NAME>_URL per registered service (e.g. GATEWAY_MARKET_URL).
    service_urls: dict[str, str] = {}
    service_timeout: float = 20.0
    cache_stale_seconds: float = 900.0
    # Overrides of spec 002's TTL per data kind, e.g. GATEWAY_CACHE_TTL='{"market": 30}'.
    cache_ttl: dict[str, float] = {}
    cors_origins: list[str] = ["*"]
    ws: WsSettings = WsSettings()
    # A longer request line is answered 414, more header bytes 431 (envelopes, in the HTTP parser).
    max_url_bytes: int = 8192
    max_header_bytes: int = 16384
    # A request whose headers have not all arrived this long after its first byte is answered 408 and closed
    # (a client trickling its headers holds nothing for long).
    header_timeout_seconds: float = 10.0

    # The edge (README "Security"). Rates are "N/second|minute|hour|day", counted in Redis for every replica.
    rate_limits: bool = True
    rate_anonymous: str = "100/minute"  # per client address, without a key
    rate_keyed: str = "1000/minute"  # per key (unless the key has its own rate) or token subject
    # Per public route, beside the caller's own limit, e.g. '{"/api/ai/analyze": "10/minute"}'; over the
    # registry's `rate` of the route.
    rate_routes: dict[str, str] = {}
    # Without Redis, let requests through (logged, counted) or refuse them.
    rate_fail_open: bool = True
    # Peers whose X-Forwarded-For / Forwarded is believed (traefik); CIDRs, JSON list.
    trusted_proxies: list[str] = ["127.0.0.1/32", "::1/128"]
    # Client addresses that see /metrics and the detailed /health without an admin key.
    internal_networks: list[str] = ["127.0.0.0/8", "::1/128"]
    keys_refresh_seconds: float = 1.0
    # Optional JWT bearer tokens: an HS256 secret, or a JWKS URL (RS256/ES256), and the claims checked.
    jwt_secret: SecretStr | None = None
    jwt_jwks_url: str | None = None
    jwt_algorithms: list[str] = []
    jwt_audience: str | None = None
    jwt_issuer: str | None = None

    # After start-up, keep everything allocated so far out of every GC pass and collect the young
    # generation less often (a request makes short-lived containers, not cycles): see gateway/__main__.py.
    gc_freeze: bool = True
    gc_threshold: int = 20_000

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings, env_settings,
                                   dotenv_settings, file_secret_settings):
        return init_settings, _ServiceUrls(settings_cls), env_settings, dotenv_settings, file_secret_settings

    def ttl(self, kind: str) -> float:
        """Seconds a value of `kind` stays fresh."""
        return self.cache_ttl.get(kind, TTL[kind])

    def url_of(self, service: Service) -> str:
        """Base URL of a registered service."""
        return self.service_urls.get(service.name, service.default_url)


@lru_cache
def get_settings() -> GatewaySettings:
    """The process's settings, read once from the environment."""
    return GatewaySettings()
