"""market-svc settings (env prefix MARKET_)."""

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from dm_shared.settings import CommonSettings


class MarketSettings(CommonSettings):
    """Where market-svc finds its upstreams, and how patiently it calls them."""

    model_config = SettingsConfigDict(env_prefix="MARKET_")  # the rest as in CommonSettings

    coingecko_url: str = "https://api.coingecko.com/api/v3"
    coingecko_api_key: SecretStr | None = None
    # Unset: each exchange's own hosts. Set: EVERY REST host of that exchange is replaced by this base
    # (a mirror, a proxy, the sandbox), because ccxt spreads one exchange over several hosts.
    binance_url: str | None = None
    kucoin_url: str | None = None
    okx_url: str | None = None
    cmc_url: str = "https://pro-api.coinmarketcap.com"
    cmc_api_key: SecretStr | None = None
    coinpaprika_url: str = "https://api.coinpaprika.com/v1"
    upstream_timeout: float = 5.0
    # Rate budget per upstream in its cost units per minute, shared by every replica through Redis.
    # Defaults: CoinGecko and CoinMarketCap 30 calls/min (their free tiers), CoinPaprika its free plan's 20,000
    # calls a month (0.46/min, up to 20 at once); exchanges the limit ccxt encodes for them. Override e.g.
    # MARKET_BUDGETS='{"coingecko": 500}' for a paid plan.
    budgets: dict[str, float] = {}
    # How long /price waits for its sources; a slower one is left out and listed as late.
    price_budget_ms: float = 1000.0
    # The consensus price uses a quote only while it is fresh by its source's own timestamp (seconds; per
    # source overrides) and within this many percent of the median of the fresh quotes.
    consensus_max_age_seconds: float = 60.0
    consensus_max_age: dict[str, float] = {"coingecko": 300.0}
    consensus_outlier_pct: float = 1.0
    # The time every other market read answers within, whatever its upstreams do (then 504, or the
    # gateway's stale value); per route kind overrides, e.g. MARKET_DEADLINES='{"history": 5}'.
    deadline_seconds: float = 3.0
    deadlines: dict[str, float] = {}
    # Consecutive outages of one upstream before calls to it pause, and for how long.
    breaker_threshold: int = 5
    breaker_cooldown: float = 10.0
    markets_refresh_seconds: float = 3600.0
    # How long a fetched market list serves every limit, sort and filter before it is fetched again (spec 002's
    # market TTL); shared by every replica through Redis. 0: fetched for every request (concurrent ones share it).
    page_ttl_seconds: float = Field(60.0, ge=0)
    # How long a block of price history (domain/history_blocks.py) serves every window cut from it: the block in
    # progress (spec 002's OHLCV TTL), and a closed one, whose data no longer changes. 0: fetched for every request.
    history_ttl_seconds: float = Field(60.0, ge=0)
    history_closed_ttl_seconds: float = Field(86400.0, ge=0)


@lru_cache
def get_settings() -> MarketSettings:
    """The process's settings, read once from the environment."""
    return MarketSettings()
