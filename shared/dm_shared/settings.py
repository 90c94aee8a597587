"""Settings every service has; each service subclasses with its own env prefix (pydantic merges the
subclass's model_config into this one, so a service sets only `env_prefix`)."""

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(name: str, default):
    # Common settings read the same unprefixed variable in every service (REDIS_URL, not MARKET_REDIS_URL).
    return Field(default, validation_alias=AliasChoices(name, name.lower()))


class CommonSettings(BaseSettings):
    """Connection settings shared by every service of the suite."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_nested_delimiter="__", env_ignore_empty=True)

    redis_url: str = _env("REDIS_URL", "redis://127.0.0.1:6379/0")
    nats_url: str = _env("NATS_URL", "nats://127.0.0.1:4222")
    mongo_url: str = _env("MONGO_URL", "mongodb://127.0.0.1:27017/dreammaker")
    log_level: str = _env("LOG_LEVEL", "INFO")
