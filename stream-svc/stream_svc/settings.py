"""stream-svc settings (env prefix STREAM_)."""

from functools import lru_cache

from pydantic_settings import SettingsConfigDict

from dm_shared.settings import CommonSettings


class StreamSettings(CommonSettings):
    """Which symbols to stream, from where, and how patiently."""

    model_config = SettingsConfigDict(env_prefix="STREAM_")  # the rest as in CommonSettings

    binance_ws_url: str = "wss://stream.binance.com:9443"
    symbols: list[str] = ["BTC/USDT", "ETH/USDT"]
    # Replicas split the symbols through leases in NATS; a dead replica's symbols move within
    # lease_ttl_seconds + lease_renew_seconds. The id defaults to a random one per process.
    replica_id: str | None = None
    lease_ttl_seconds: float = 6.0
    lease_renew_seconds: float = 2.0
    # A feed silent for this long is restarted; reconnects back off up to the cap.
    watchdog_seconds: float = 15.0
    reconnect_max_seconds: float = 30.0
    # JetStream retention of trades, so a consumer can replay recent ones.
    trades_max_age_seconds: float = 3600.0
    trades_max_messages: int = 1_000_000


@lru_cache
def get_settings() -> StreamSettings:
    """The process's settings, read once from the environment."""
    return StreamSettings()
