"""ai-svc settings (env prefix AI_)."""

from functools import lru_cache
from pathlib import Path

from pydantic_settings import SettingsConfigDict

from dm_shared.settings import CommonSettings

from ai_svc.forecast import DEFAULT_DIR


class AiSettings(CommonSettings):
    """Where ai-svc finds its data services and its model, and how it generates signals."""

    model_config = SettingsConfigDict(env_prefix="AI_")  # the rest as in CommonSettings

    market_url: str = "http://127.0.0.1:8101"
    # `none`: this deployment runs no news-svc; sentiment is null with that reason and /health skips it.
    news_url: str = "http://127.0.0.1:8103"
    # Seconds each call to market-svc or news-svc may take before its part is answered as null.
    upstream_timeout: float = 3.0
    breaker_threshold: int = 5
    breaker_cooldown: float = 10.0
    model_dir: Path = DEFAULT_DIR
    # Signals: the pairs and timeframes generated, how often, and by which forecast method.
    signal_symbols: list[str] = ["BTC/USDT", "ETH/USDT"]
    signal_timeframes: list[str] = ["1h"]
    signal_interval_seconds: float = 300.0
    signal_method: str = "ensemble"
    # A signal lives HORIZON_CANDLES candles of its timeframe; set to give every signal this life instead.
    signal_expiry_seconds: float | None = None
    # How often expired signals are judged, and how long one may wait for candles before it is unresolved.
    outcome_interval_seconds: float = 30.0
    outcome_give_up_seconds: float = 86_400.0
    # One generator per deployment: the lease moves to another replica this long after its holder stops.
    replica_id: str | None = None
    lease_ttl_seconds: float = 6.0
    lease_renew_seconds: float = 2.0
    signals_max_age_seconds: float = 30 * 86_400.0


@lru_cache
def get_settings() -> AiSettings:
    """The process's settings, read once from the environment."""
    return AiSettings()
