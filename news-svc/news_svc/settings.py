"""news-svc settings (env prefix NEWS_)."""

from functools import lru_cache

from pydantic import BaseModel, SecretStr
from pydantic_settings import SettingsConfigDict

from dm_shared.settings import CommonSettings


class Feed(BaseModel):
    """One RSS or Atom feed: the name shown as its source, its URL, and `social` when it is a community feed
    (a subreddit's `.rss`: its posts feed `reddit_sentiment`)."""

    name: str
    url: str
    social: str | None = None


DEFAULT_FEEDS = [
    Feed(name="CoinDesk", url="https://www.coindesk.com/arc/outboundfeeds/rss/"),
    Feed(name="Cointelegraph", url="https://cointelegraph.com/rss"),
    Feed(name="Decrypt", url="https://decrypt.co/feed"),
]


class NewsSettings(CommonSettings):
    """Where news-svc reads news and market sentiment, how often, and which sentiment model scores them."""

    model_config = SettingsConfigDict(env_prefix="NEWS_")  # the rest as in CommonSettings

    rss_feeds: list[Feed] = DEFAULT_FEEDS
    # Unset: each feed's own host. Set: every feed's scheme and host are replaced by this base (a mirror, a
    # proxy, the sandbox), its path kept.
    rss_url: str | None = None
    cryptopanic_url: str = "https://cryptopanic.com/api"
    # The plan segment of the posts path: the free v1 API, or e.g. /developer/v2/posts/ (another shape).
    cryptopanic_path: str = "/free/v1/posts/"
    cryptopanic_api_key: SecretStr | None = None
    newsapi_url: str = "https://newsapi.org"
    newsapi_api_key: SecretStr | None = None
    newsapi_query: str = "bitcoin OR ethereum OR crypto OR cryptocurrency"
    # NewsAPI's free plan is for development only; /health says so while this is "developer".
    newsapi_plan: str = "developer"
    alternative_me_url: str = "https://api.alternative.me"
    market_url: str = "http://127.0.0.1:8101"
    # Seconds between polls per source; CryptoPanic is also held to 2 calls a minute by its budget.
    poll_seconds: dict[str, float] = {"rss": 300, "cryptopanic": 60, "newsapi": 900, "alternative_me": 900,
                                      "components": 600}
    # Calls per minute per upstream, shared by every replica (CryptoPanic: at most one poll per 30 s).
    budgets: dict[str, float] = {}
    upstream_timeout: float = 10.0
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0
    replica_id: str | None = None
    lease_ttl_seconds: float = 10.0
    lease_renew_seconds: float = 3.0
    # The sentiment model: a transformers model id or folder, used only when it is in the local model cache
    # (never downloaded); otherwise the bundled model.
    sentiment_model: str = "ElKulako/cryptobert"
    sentiment_batch: int = 64
    sentiment_threads: int = 1
    # Two stories within this many hours whose normalized titles are this similar are one story.
    dedup_hours: float = 48.0
    dedup_similarity: float = 0.8
    news_max_age_seconds: float = 7 * 86400.0
    news_max_messages: int = 100_000


@lru_cache
def get_settings() -> NewsSettings:
    """The process's settings, read once from the environment."""
    return NewsSettings()
