"""chain-svc settings (env prefix CHAIN_)."""

from functools import lru_cache

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from dm_shared.settings import CommonSettings


class ChainSettings(CommonSettings):
    """Where chain-svc finds its explorers and market-svc, and how its whale detector runs."""

    model_config = SettingsConfigDict(env_prefix="CHAIN_")  # the rest as in CommonSettings

    # Etherscan API V2: one key for every chain (its free plan covers Ethereum and Polygon, not BSC).
    etherscan_url: str = "https://api.etherscan.io/v2/api"
    etherscan_api_key: SecretStr | None = None
    # A second Etherscan-compatible explorer; `{chainid}` in the URL is replaced by the chain id, else the
    # id goes in the `chainid` parameter as on Etherscan V2. Routescan's free plan needs no key.
    evm_fallback_name: str = "routescan"
    evm_fallback_url: str = "https://api.routescan.io/v2/network/mainnet/evm/{chainid}/etherscan/api"
    evm_fallback_api_key: SecretStr | None = None
    mempool_url: str = "https://mempool.space/api"
    esplora_url: str = "https://blockstream.info/api"
    whale_alert_url: str = "https://api.whale-alert.io/v1"
    whale_alert_api_key: SecretStr | None = None
    # market-svc, for USD prices (its /v1/price/{symbol}).
    market_url: str = "http://127.0.0.1:8101"
    upstream_timeout: float = 5.0
    # Calls per minute per upstream, shared by every replica; defaults are the free plans' published limits.
    budgets: dict[str, float] = {}
    breaker_threshold: int = 5
    breaker_cooldown: float = 10.0
    # The whale detector: chains it scans, how often, and the USD value from which a transfer is kept.
    whale_chains: list[str] = ["ethereum", "bitcoin"]
    whale_min_usd: float = 500_000.0
    poll_seconds: float = 12.0
    max_blocks_per_poll: int = 5
    price_ttl_seconds: float = 30.0
    replica_id: str | None = None
    lease_ttl_seconds: float = 10.0
    lease_renew_seconds: float = 3.0
    whales_max_age_seconds: float = 7 * 24 * 3600.0
    whales_max_messages: int = 100_000


@lru_cache
def get_settings() -> ChainSettings:
    """The process's settings, read once from the environment."""
    return ChainSettings()
