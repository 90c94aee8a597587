"""The one poller of a deployment: while this replica holds the `poller` lease (NATS key-value bucket
`news_leases`), it polls each source on its schedule, ingests, publishes each new article once on
`news.article` (JetStream stream NEWS, Nats-Msg-Id the article id), and shares what it learnt in Redis.
A source that fails keeps its stored articles; its status says it failed."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from dm_shared.bus import Publisher
from dm_shared.clock import now_ms
from dm_shared.errors import ApiError, SourceUnsupportedError
from dm_shared.messages import NewsArticle
from dm_shared.names import Provider
from dm_shared.subjects import NEWS, NEWS_ARTICLE

from news_svc.domain import components
from news_svc.ingest.pipeline import Ingest
from news_svc.ingest.shared import Shared
from news_svc.settings import NewsSettings
from news_svc.sources import Sources

log = logging.getLogger("news.poller")
LEASE = "poller"
NEWS_KEY = "news"
HISTORY_EVERY_MS = 6 * 3_600_000


def message(document: dict[str, Any]) -> NewsArticle:
    """The bus message of a new article."""
    return NewsArticle(id=document["id"], title=document["title"], url=document["url"],
                       source=document["source"], published_at=document["published_at"],
                       sentiment=document["sentiment"], sentiment_score=document["sentiment_score"],
                       related_symbols=document["related_symbols"], categories=document["categories"],
                       language=document["language"], providers=document["providers"])


class Poller:
    """Polls every source on its schedule while running; `on_lease` starts and stops it with the lease."""

    def __init__(self, settings: NewsSettings, sources: Sources, ingest: Ingest, publisher: Publisher,
                 shared: Shared):
        self.settings, self.sources, self.ingest = settings, sources, ingest
        self.publisher, self.shared = publisher, shared
        self.active = False
        self._tasks: list[asyncio.Task] = []
        self._lock = asyncio.Lock()
        self._history_at = 0

    async def on_lease(self, held: set[str]) -> None:
        """Start polling when this replica holds the lease; stop before it is released."""
        if LEASE in held and not self._tasks:
            self.active = True
            self.ingest.known = None  # another replica may have stored articles meanwhile
            # Go on numbering after the last article another replica published, so no client sees a repeat.
            await self.publisher.sequencer.resume(NEWS_KEY, NEWS, NEWS_ARTICLE)
            self._tasks = [asyncio.create_task(self._every(kind, poll), name=f"poll-{name}")
                           for kind, name, poll in self._jobs()]
        elif LEASE not in held and self._tasks:
            await self.stop()

    async def stop(self) -> None:
        self.active = False
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def _jobs(self) -> list[tuple[str, str, Callable[[], Awaitable[None]]]]:
        jobs = [("rss", feed.name, lambda feed=feed: self._poll_news(feed)) for feed in self.sources.feeds]
        for adapter in (self.sources.cryptopanic, self.sources.newsapi):
            if adapter.keyed:
                jobs.append((adapter.name, adapter.name, lambda adapter=adapter: self._poll_news(adapter)))
        jobs.append((Provider.ALTERNATIVE_ME, Provider.ALTERNATIVE_ME, self._poll_index))
        jobs.append(("components", "components", self._poll_components))
        return jobs

    async def _every(self, kind: str, poll: Callable[[], Awaitable[None]]) -> None:
        every = self.settings.poll_seconds.get(kind, 300)
        while True:
            try:
                await poll()
            except Exception:  # one failed round must not end the schedule
                log.exception("poll of %s failed", kind)
            await asyncio.sleep(every)

    async def _status(self, name: str, **fields: Any) -> None:
        status = await self.shared.get(f"status:{name}") or {}
        await self.shared.put(f"status:{name}", {**status, **fields})

    async def _poll_news(self, adapter) -> None:
        started = now_ms()
        try:
            items = await adapter.fetch_items()
        except SourceUnsupportedError:
            return
        except ApiError as exc:
            log.warning("%s failed: %s %s", adapter.name, exc.code, exc.message)
            await self._status(adapter.name, ok=False, failed_at=started,
                               error={"code": exc.code, "message": exc.message})
            return
        if items is None:  # 304: the feed has not changed
            await self._status(adapter.name, ok=True, polled_at=started, not_modified=True)
            return
        async with self._lock:
            outcome = await self.ingest.run(items)
        for document in outcome.new:
            await self.publisher.publish(NEWS_ARTICLE, message(document), key=NEWS_KEY, stream=NEWS,
                                         msg_id=document["id"])
        await self._status(adapter.name, ok=True, polled_at=started, not_modified=False, items=len(items),
                           new=len(outcome.new), merged=outcome.merged, error=None)
        await self.shared.put("ingested_at", now_ms())
        if outcome.new:
            log.info("%s: %d new, %d merged of %d items", adapter.name, len(outcome.new), outcome.merged, len(items))

    async def _poll_index(self) -> None:
        adapter = self.sources.alternative_me
        started = now_ms()
        try:
            latest = (await adapter.fetch_index(1))[0]
            await self.shared.put("fng", {"index": latest.model_dump(), "fetched_at": started})
            if started - self._history_at > HISTORY_EVERY_MS:
                history = await adapter.fetch_index(0)
                await self.shared.put("fng_history", {"days": [d.model_dump() for d in history],
                                                      "fetched_at": started})
                self._history_at = started
        except ApiError as exc:
            log.warning("alternative.me failed: %s %s", exc.code, exc.message)
            await self._status(adapter.name, ok=False, failed_at=started,
                               error={"code": exc.code, "message": exc.message})
            return
        await self._status(adapter.name, ok=True, polled_at=started, error=None)

    async def _poll_components(self) -> None:
        """Volatility and momentum from BTC daily candles, dominance (market-svc); social from our news."""
        market, client, found = self.sources.market, self.sources.client, {}
        try:
            candles = await client.get_json(market, "/v1/ohlcv", {"symbol": "BTC/USDT", "timeframe": "1d",
                                                                  "limit": 91})
            closes = [c["c"] for c in candles["data"]]
            as_of = candles["data"][-1]["t"]
            for name, compute in (("volatility", components.volatility), ("market_momentum", components.momentum)):
                figure = compute(closes)
                if figure:
                    found[name] = {**figure, "source": f"market-svc /ohlcv BTC/USDT 1d ({candles['source']})",
                                   "as_of": as_of}
        except (ApiError, KeyError, TypeError, IndexError) as exc:
            found["error_market"] = f"BTC candles from market-svc unavailable: {getattr(exc, 'code', exc)}"
        try:
            shares = await client.get_json(market, "/v1/stats/dominance")
            found["dominance"] = {
                "value": round(shares["dominance"]["BTC"], 2), "raw": None, "sample_size": None,
                "source": f"market-svc /stats/dominance ({shares['source']})", "as_of": shares["timestamp"],
                "method": "Bitcoin's share of the total crypto market cap, percent (a level, not a 0-100 "
                          "fear/greed score)"}
        except (ApiError, KeyError, TypeError) as exc:
            found["error_dominance"] = f"dominance from market-svc unavailable: {getattr(exc, 'code', exc)}"
        try:
            window = await self.ingest.store.window(now_ms() - 86_400_000)
            figure = components.social([a["sentiment_score"] for a in window if a.get("sentiment_score") is not None])
            if figure:
                found["social_media"] = {**figure, "source": "news-svc scored news", "as_of": now_ms()}
        except ApiError as exc:
            found["error_social"] = f"scored news unavailable: {exc.code}"
        await self.shared.put("components", {"found": found, "computed_at": now_ms()})
