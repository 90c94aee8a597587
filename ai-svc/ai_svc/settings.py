"""ai-svc settings (env prefix AI_)."""

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

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
    # Spec 004's periodic runner: every interval, one analysis per tracked pair, stored and published as
    # AISignalReceived by the replica holding the generator lease.
    tracked_symbols: list[str] = ["BTC/USDT", "ETH/USDT", "BNB/USDT", "SOL/USDT", "ADA/USDT", "DOT/USDT",
                                  "XRP/USDT", "LINK/USDT"]
    analysis_interval_seconds: float = 300.0
    # The timeframe analysed when a request sends no candles, and how long a stored analysis answers a
    # repeated request (spec 004: 5 minutes).
    analysis_timeframe: Literal["1h", "4h", "1d"] = "1h"
    analysis_cache_seconds: float = 300.0
    # An analysis is judged like a signal after this many seconds; unset: 4 candles of its timeframe.
    analysis_expiry_seconds: float | None = None
    # Candles a strategy's recent performance is measured on, and a market condition is read from.
    recommendation_candles: int = 500
    condition_candles: int = 48
    # POST /ai/storage/clear moves analyses to `ai_analysis_archive` (archive) or deletes them (delete).
    storage_clear_mode: Literal["archive", "delete"] = "archive"
    # LLM reasoning through any OpenAI-compatible chat endpoint (OpenAI, OpenRouter, vLLM, llama.cpp, Ollama):
    # unset URL (or enabled=false) means none, and the indicator engine decides.
    llm_enabled: bool = True
    llm_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = None
    # More keys, tried in order when one is rate-limited (429) or refused (401): comma-separated or a JSON list.
    llm_backup_keys: Annotated[list[SecretStr], NoDecode] = []
    # Spec 004: at least this long between two calls, across every replica.
    llm_min_interval_seconds: float = 20.0
    llm_timeout: float = 20.0
    # How the answer is asked to be JSON: json_object (JSON mode), json_schema (structured output) or none.
    llm_response_format: Literal["json_object", "json_schema", "none"] = "json_object"
    llm_temperature: float = 0.2
    llm_max_tokens: int = 600
    # A key the endpoint refused (401) is not tried again for this long, by any replica.
    llm_refused_key_pause_seconds: float = 3600.0

    @field_validator("llm_backup_keys", mode="before")
    @classmethod
    def _split_keys(cls, value):
        """`sk-1,sk-2` or `["sk-1", "sk-2"]`."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @property
    def llm_configured(self) -> bool:
        return self.llm_enabled and bool(self.llm_url and self.llm_url.strip().lower() != "none")


@lru_cache
def get_settings() -> AiSettings:
    """The process's settings, read once from the environment."""
    return AiSettings()
