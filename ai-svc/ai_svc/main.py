"""ai-svc: the app factory and its lifespan (the model loads here; the signal generator and the analysis
runner run under a lease)."""

import asyncio
import logging
import uuid
from contextlib import asynccontextmanager

from fastapi import FastAPI

from dm_shared.adapter import source_health
from dm_shared.app import create_service_app
from dm_shared.breaker import CircuitBreaker
from dm_shared.budget import Budget
from dm_shared.bus import Bus, Publisher
from dm_shared.clock import now_ms
from dm_shared.envelope import JsonResponse
from dm_shared.errors import ApiError
from dm_shared.health import DEGRADED, DEPENDENCY, OK, SKIPPED, SOURCE, component, probe, report
from dm_shared.leases import Leases
from dm_shared.logs import configure_logging
from dm_shared.mongo import database, open_mongo, ping
from dm_shared.redis_client import fail_fast_redis
from dm_shared.subjects import AI_LEASES, AI_SIGNALS
from dm_shared.symbols import parse_pair
from dm_shared.upstream import UpstreamClient

from ai_svc.adapters.market import MarketAdapter
from ai_svc.adapters.news import NewsAdapter
from ai_svc.api import admin, analysis, analyze, feedback, predict, signals, storage, strategies
from ai_svc.forecast.forecaster import Forecaster
from ai_svc.llm.client import ChatClient
from ai_svc.service.analysis_store import AnalysisStore
from ai_svc.service.decision_log import DecisionLog
from ai_svc.service.feedback_store import FeedbackStore
from ai_svc.service.leader import Leader
from ai_svc.service.prompt_store import PromptStore
from ai_svc.service.reasoning import NOT_CONFIGURED
from ai_svc.service.state import AiState
from ai_svc.service.store import SignalStore
from ai_svc.settings import AiSettings, get_settings
from ai_svc.version import VERSION

log = logging.getLogger("ai")
# The lease item of the generator and the runner (one of each per deployment).
GENERATOR = "signals"


def load_forecaster(settings: AiSettings) -> tuple[Forecaster, dict]:
    """The hourly model from AI_MODEL_DIR (never downloaded); without it, the random walk only, and why."""
    from ai_svc.forecast import artifact  # torch loads with the model, not with the module

    try:
        model = artifact.load(settings.model_dir, "1h")
    except (OSError, ValueError, KeyError) as exc:
        log.warning("forecast model not loaded from %s: %s", settings.model_dir, exc)
        return Forecaster(None, None), {"status": DEGRADED, "reason": f"{type(exc).__name__}: {exc}"[:300],
                                        "path": str(settings.model_dir)}
    card = model.card
    return Forecaster(model, card), {"status": OK, "name": card["name"], "version": card["version"],
                                     "path": str(settings.model_dir), "evaluated": card.get("evaluation") is not None}


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings = get_settings()
    configure_logging("ai-svc", settings.log_level)
    replica = settings.replica_id or uuid.uuid4().hex[:12]
    forecaster, model_status = await asyncio.to_thread(load_forecaster, settings)
    client = UpstreamClient()

    def breaker(name: str) -> CircuitBreaker:
        return CircuitBreaker(name, threshold=settings.breaker_threshold, cooldown=settings.breaker_cooldown)

    market = MarketAdapter(client, base_url=settings.market_url, timeout=settings.upstream_timeout,
                           breaker=breaker("market-svc"))
    news = NewsAdapter(client, base_url=settings.news_url, timeout=settings.upstream_timeout,
                       breaker=breaker("news-svc"))
    mongo = open_mongo(settings.mongo_url)
    db = database(mongo, settings.mongo_url)
    store = SignalStore(db)
    analyses, feedback_store, decisions = AnalysisStore(db), FeedbackStore(db), DecisionLog(db)
    for indexed in (store, analyses, feedback_store, decisions):
        try:
            await indexed.ensure_indexes()
        except Exception as exc:  # the store may come later; reads and the generator say so meanwhile
            log.warning("store indexes not created yet: %s", exc)
    redis = fail_fast_redis(settings.redis_url)
    llm = ChatClient(client, settings, budget=Budget(redis), redis=redis) if settings.llm_configured else None
    bus = Bus(settings.nats_url, name=f"ai-svc-{replica}")
    bus.declare(AI_SIGNALS, max_age=settings.signals_max_age_seconds, max_messages=1_000_000)
    await bus.start()
    publisher = Publisher(bus, producer=replica)
    state = AiState(settings=settings, market=market, news=news, forecaster=forecaster, model_status=model_status,
                    mongo=mongo, store=store, bus=bus, publisher=publisher, replica=replica, analyses=analyses,
                    feedback=feedback_store, prompts=PromptStore(db), decisions=decisions, llm=llm,
                    started_ms=now_ms())
    leader = Leader(state, publisher)
    leases = Leases(bus, bucket=AI_LEASES, replica=replica, ttl=settings.lease_ttl_seconds,
                    renew_every=settings.lease_renew_seconds)
    task = asyncio.create_task(leases.run([GENERATOR], leader.on_change), name="ai-leases")
    app.state.ai, app.state.leader, app.state.leases = state, leader, leases
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await leader.stop()
        await bus.close()
        await client.close()
        await mongo.close()
        await redis.aclose()


def create_app() -> FastAPI:
    """The ai-svc ASGI app."""
    app = create_service_app(title="ai-svc", version=VERSION, lifespan=lifespan,
                             description="Indicators, price forecasts with calibrated intervals, trading signals "
                                         "whose outcomes are recorded, and analysis.")
    for router in (predict.router, signals.router, analysis.router, analyze.router, strategies.router,
                   feedback.router, storage.router, admin.router):
        app.include_router(router)

    @app.get("/v1/streams", include_in_schema=False)
    async def streams() -> dict[str, list[str]]:
        """The pairs signals and runner analyses are made for: the gateway refuses a `signals` subscription to
        any other."""
        settings = app.state.ai.settings
        pairs = set()
        for symbol in (*settings.signal_symbols, *settings.tracked_symbols):
            try:
                pairs.add(str(parse_pair(symbol)))
            except ApiError:
                log.warning("tracked symbol %r is not a pair the suite knows", symbol)
        return {"symbols": sorted(pairs)}

    @app.get("/health", include_in_schema=False)
    async def health() -> JsonResponse:
        """The model, the data services, the store, the bus, the LLM, and whether this replica generates."""
        state: AiState = app.state.ai
        leader: Leader = app.state.leader
        generator, runner = leader.generator, leader.runner
        components = {
            "model": component(DEPENDENCY, dict(state.model_status)),
            "market-svc": source_health(state.market),
            "news-svc": source_health(state.news) if state.news.configured else component(
                SOURCE, {"status": SKIPPED, "reason": "AI_NEWS_URL=none: no news-svc in this deployment"}),
            "mongo": component(DEPENDENCY, await probe(lambda: ping(state.mongo))),
            "nats": component(DEPENDENCY, await probe(state.bus.check)),
            "llm": component(SOURCE, {"status": OK, **await state.llm.status()}) if state.llm else component(
                SOURCE, {"status": SKIPPED, "reason": NOT_CONFIGURED}),
        }
        body, status = report("ai-svc", VERSION, components, replica=state.replica, generating=leader.leading,
                              live_replicas=app.state.leases.members,
                              signals_made=generator.made if generator else 0,
                              outcomes_recorded=generator.judged if generator else 0,
                              last_error=generator.last_error if generator else None,
                              analyses_made=runner.made if runner else 0,
                              analyses_failed=runner.failed if runner else 0,
                              analysis_outcomes_recorded=runner.judged if runner else 0,
                              runner_last_error=runner.last_error if runner else None,
                              published=state.publisher.published, dropped=state.publisher.dropped)
        return JsonResponse(body, status_code=status)

    return app
