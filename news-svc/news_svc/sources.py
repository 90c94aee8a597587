"""Every upstream news-svc reads, opened once per process with its guard and budget."""

from dm_shared.budget import Budget, Limit
from dm_shared.guard import guards, secret_value
from dm_shared.names import Provider
from dm_shared.upstream import Upstream, UpstreamClient

from news_svc.adapters.alternative_me import AlternativeMeAdapter
from news_svc.adapters.cryptopanic import CryptoPanicAdapter
from news_svc.adapters.newsapi import NewsApiAdapter
from news_svc.adapters.rss import RssAdapter
from news_svc.settings import NewsSettings

# Published allowances, calls per minute: CryptoPanic asks for at most one poll per 30 s; NewsAPI's free
# plan allows 100 requests a day.
LIMITS = {Provider.CRYPTOPANIC: 2.0, Provider.NEWSAPI: 100 / 1440}
MARKET = "market-svc"


class Sources:
    """The adapters, and market-svc for the figures that need market data."""

    def __init__(self, settings: NewsSettings, client: UpstreamClient, budget: Budget | None = None):
        timeout = settings.upstream_timeout

        guard = guards(budget, threshold=settings.breaker_threshold, cooldown=settings.breaker_cooldown)

        self.feeds = [RssAdapter(client, guard=guard(f"{Provider.RSS}.{feed.name.lower()}"), feed=feed,
                                 base_url=settings.rss_url, timeout=timeout) for feed in settings.rss_feeds]
        self.cryptopanic = CryptoPanicAdapter(client, guard=guard(Provider.CRYPTOPANIC),
                                              base_url=settings.cryptopanic_url, path=settings.cryptopanic_path,
                                              api_key=secret_value(settings.cryptopanic_api_key), timeout=timeout)
        self.newsapi = NewsApiAdapter(client, guard=guard(Provider.NEWSAPI), base_url=settings.newsapi_url,
                                      api_key=secret_value(settings.newsapi_api_key), query=settings.newsapi_query,
                                      timeout=timeout)
        self.alternative_me = AlternativeMeAdapter(client, guard=guard(Provider.ALTERNATIVE_ME),
                                                   base_url=settings.alternative_me_url, timeout=timeout)
        self.market = Upstream(guard(MARKET), settings.market_url, timeout=timeout)
        self.client = client
        if budget is not None:
            for name, per_minute in {**LIMITS, **settings.budgets}.items():
                budget.meter(name, Limit(per_minute))

    @property
    def news(self) -> list:
        """The news adapters, in the order they are listed in /health."""
        return [*self.feeds, self.cryptopanic, self.newsapi]

    @property
    def adapters(self) -> list:
        return [*self.news, self.alternative_me]

    async def close(self) -> None:
        for adapter in self.adapters:
            await adapter.close()
