"""news-svc: the app factory and its lifespan (the poller runs while this replica holds the lease)."""

import asyncio
import logging
import uuid
from contextlib import asynccontextmanager

from fastapi import FastAPI

from dm_shared.adapter import source_health
from dm_shared.app import create_service_app
from dm_shared.budget import Budget
from dm_shared.bus import Bus, Publisher
from dm_shared.clock import now_ms
from dm_shared.envelope import JsonResponse
from dm_shared.health import DEPENDENCY, DOWN, OK, component, probe, report
from dm_shared.leases import Leases
from dm_shared.logs import configure_logging
from dm_shared.mongo import database, open_mongo, ping
from dm_shared.redis_client import fail_fast_redis
from dm_shared.subjects import NEWS, NEWS_LEASES
from dm_shared.upstream import UpstreamClient

from news_svc.adapters.cryptopanic import KEY_SETTING as CRYPTOPANIC_KEY
from news_svc.adapters.newsapi import KEY_SETTING as NEWSAPI_KEY
from news_svc.api import news, sentiment
from news_svc.api.deps import NewsState
from news_svc.ingest.pipeline import Ingest
from news_svc.ingest.poller import LEASE, Poller
from news_svc.ingest.shared import Shared
from news_svc.ingest.store import COLLECTION, Store
from news_svc.sentiment.scorer import Scorer, load
from news_svc.settings import get_settings
from news_svc.sources import Sources

log = logging.getLogger("news")
VERSION = "0.1.0"


async def _indexes(store: Store) -> None:
    try:
        await store.ensure_indexes()
    except Exception as exc:  # MongoDB down at start-up: reads say so; indexes come with the next start
        log.warning("could not create indexes: %s", exc)


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings = get_settings()
    configure_logging("news-svc", settings.log_level)
    replica = settings.replica_id or uuid.uuid4().hex[:12]
    redis = fail_fast_redis(settings.redis_url)
    client = UpstreamClient()
    sources = Sources(settings, client, Budget(redis))
    mongo = open_mongo(settings.mongo_url)
    store = Store(database(mongo, settings.mongo_url)[COLLECTION])
    scorer = Scorer(await asyncio.to_thread(load, settings.sentiment_model), batch_size=settings.sentiment_batch,
                    threads=settings.sentiment_threads)
    shared = Shared(redis)
    bus = Bus(settings.nats_url, name=f"news-svc-{replica}")
    bus.declare(NEWS, max_age=settings.news_max_age_seconds, max_messages=settings.news_max_messages)
    await bus.start()
    publisher = Publisher(bus, producer=replica)
    ingest = Ingest(store, scorer, dedup_hours=settings.dedup_hours, dedup_similarity=settings.dedup_similarity)
    poller = Poller(settings, sources, ingest, publisher, shared)
    leases = Leases(bus, bucket=NEWS_LEASES, replica=replica, ttl=settings.lease_ttl_seconds,
                    renew_every=settings.lease_renew_seconds)
    indexes = asyncio.create_task(_indexes(store))
    task = asyncio.create_task(leases.run([LEASE], poller.on_lease), name="leases")
    app.state.news = NewsState(settings, store, scorer, shared)
    app.state.runtime = {"sources": sources, "bus": bus, "mongo": mongo, "leases": leases, "poller": poller,
                         "publisher": publisher}
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, indexes, return_exceptions=True)
        await poller.stop()
        await bus.close()
        await sources.close()
        await client.close()
        await mongo.close()
        scorer.close()
        await redis.aclose()


def _with_status(entry: dict, status: dict | None) -> dict:
    """A source's health with what its last poll found: down (with the error) when it failed."""
    if not status or entry["status"] == "skipped":
        return entry
    entry = {**entry, "last_poll": {k: v for k, v in status.items() if k != "ok"}}
    if status.get("ok") is False:
        entry["status"] = DOWN
    return entry


def create_app() -> FastAPI:
    """The news-svc ASGI app."""
    app = create_service_app(title="news-svc", version=VERSION, lifespan=lifespan,
                             description="News from RSS, CryptoPanic and NewsAPI, each story once, tagged and "
                                         "scored by a measured offline model; Fear & Greed and per-asset sentiment.")
    for router in (news.router, sentiment.router):
        app.include_router(router)

    @app.get("/health", include_in_schema=False)
    async def health() -> JsonResponse:
        """Every source with its last poll, the store, the bus, the active model and who polls."""
        state, runtime = app.state.news, app.state.runtime
        sources: Sources = runtime["sources"]
        keys = {sources.cryptopanic.name: CRYPTOPANIC_KEY, sources.newsapi.name: NEWSAPI_KEY}
        statuses = await state.shared.get_many([f"status:{a.name}" for a in sources.adapters])
        components = {a.name: _with_status(source_health(a, keys.get(a.name)), statuses[f"status:{a.name}"])
                      for a in sources.adapters}
        if sources.newsapi.keyed and state.settings.newsapi_plan == "developer":
            components[sources.newsapi.name]["note"] = ("NewsAPI's free Developer plan is for development only; "
                                                        "production use needs a paid plan")
        if sources.cryptopanic.keyed:
            components[sources.cryptopanic.name]["path"] = sources.cryptopanic.path
        components["mongodb"] = component(DEPENDENCY, await probe(lambda: ping(runtime["mongo"])))
        components["nats"] = component(DEPENDENCY, await probe(runtime["bus"].check))
        components["sentiment_model"] = component(DEPENDENCY, {"status": OK, **state.scorer.describe()})
        leases, publisher = runtime["leases"], runtime["publisher"]
        ingested = await state.shared.get("ingested_at")
        body, status = report("news-svc", VERSION, components, replica=leases.replica, polling=runtime["poller"].active,
                              live_replicas=leases.members, published=publisher.published, dropped=publisher.dropped,
                              last_ingest_age_s=round((now_ms() - ingested) / 1000, 1) if ingested else None)
        return JsonResponse(body, status_code=status)

    return app
