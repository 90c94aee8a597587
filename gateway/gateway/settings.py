"""Gateway settings (env prefix GATEWAY_)."""

from functools import lru_cache

from pydantic_settings import SettingsConfigDict

from dm_shared.cache import TTL
from dm_shared.settings import CommonSettings

from gateway.ws import Limits


class GatewaySettings(CommonSettings):
    """Where the services are and how the gateway treats them."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_")  # the rest as in CommonSettings

    market_url: str = "http://127.0.0.1:8101"
    stream_url: str = "http://127.0.0.1:8102"
    service_timeout: float = 20.0
    cache_stale_seconds: float = 900.0
    # Overrides of spec 002's TTL per data kind, e.g. GATEWAY_CACHE_TTL='{"market": 30}'.
    cache_ttl: dict[str, float] = {}
    cors_origins: list[str] = ["*"]
    # WebSocket limits, e.g. GATEWAY_WS__IDLE_SECONDS=60 (see gateway/ws.py, Limits).
    ws: Limits = Limits()

    def ttl(self, kind: str) -> float:
        """Seconds a value of `kind` stays fresh."""
        return self.cache_ttl.get(kind, TTL[kind])

    def service_urls(self) -> dict[str, str]:
        """Base URL of each service, by the name the route table uses."""
        return {"market": self.market_url, "stream": self.stream_url}


@lru_cache
def get_settings() -> GatewaySettings:
    """The process's settings, read once from the environment."""
    return GatewaySettings()
