"""Routes: market sentiment (Fear & Greed with our computed components), per-symbol sentiment from our scored
news, and scoring a caller's own texts with the active model."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from dm_shared.clock import now_ms
from dm_shared.envelope import JsonResponse, success
from dm_shared.errors import UpstreamUnavailableError
from dm_shared.names import Provider
from dm_shared.provenance import Attempt, Provenance
from dm_shared.schemas import ERRORS, ErrorResponse

from news_svc.api.deps import StateDep
from news_svc.api.news import STORE, asset
from news_svc.domain import components
from news_svc.schemas import (
    AnalyzeRequest,
    AnalyzeResponse,
    GlobalHistoryResponse,
    GlobalSentimentResponse,
    SymbolSentimentResponse,
)

router = APIRouter(prefix="/v1")
NO_SOURCE = {
    "surveys": "alternative.me publishes no survey figures and no survey source is configured",
    "trends": "no search-trends source is configured",
}
UNCOMPUTED = {
    "volatility": "BTC daily candles from market-svc were not available when last computed",
    "market_momentum": "BTC daily candles from market-svc were not available when last computed",
    "dominance": "dominance from market-svc was not available when last computed",
    "social_media": "no scored article in the last 24 hours",
}


def _day(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _index_provenance(state, fetched_at: int) -> Provenance:
    status = await state.shared.get(f"status:{Provider.ALTERNATIVE_ME}") or {}
    now = now_ms()
    provenance = Provenance(source=Provider.ALTERNATIVE_ME, fetched_at=fetched_at, age_ms=max(0, now - fetched_at))
    if status.get("ok") is False and status.get("failed_at", 0) > fetched_at:
        provenance.stale = True
        error = status["error"]
        provenance.failed.append(Attempt(Provider.ALTERNATIVE_ME, error["code"], error["message"]))
    return provenance


@router.get("/sentiment/global", responses={200: {"model": GlobalSentimentResponse}, **ERRORS},
            summary="The Crypto Fear & Greed Index with the components we can compute from real data")
async def global_sentiment(state: StateDep) -> JsonResponse:
    shared = await state.shared.get_many(["fng", "components"])
    fng = shared["fng"]
    if not fng:
        raise UpstreamUnavailableError("No Fear & Greed value has been fetched yet", details={
            "upstream": Provider.ALTERNATIVE_ME})
    index = fng["index"]
    computed = (shared["components"] or {}).get("found", {})
    parts = {name: computed.get(name) or {"value": None, "reason": UNCOMPUTED[name]} for name in UNCOMPUTED}
    parts |= {name: {"value": None, "reason": reason} for name, reason in NO_SOURCE.items()}
    provenance = await _index_provenance(state, fng["fetched_at"])
    if provenance.stale:
        provenance.notes.append("alternative.me did not answer the last poll: this is the last value it gave")
    provenance.notes.append("fearGreedIndex, value_classification and last_updated are alternative.me's; each "
                            "component states its own method and source, or why it is null")
    return JsonResponse(success(
        fearGreedIndex=index["value"], sentiment=components.fear_greed_sentiment(index["classification"]),
        value_classification=index["classification"], components=parts,
        description=f"alternative.me's Crypto Fear & Greed Index is {index['value']} ({index['classification']})",
        last_updated=_day(index["timestamp"]), time_until_update=index.get("time_until_update"),
        **provenance.to_fields()))


@router.get("/sentiment/global/history", responses={200: {"model": GlobalHistoryResponse}, **ERRORS},
            summary="Daily Fear & Greed values from alternative.me's history")
async def global_history(state: StateDep, days: Annotated[int, Query(ge=1, le=4000)] = 30) -> JsonResponse:
    history = await state.shared.get("fng_history")
    if not history:
        raise UpstreamUnavailableError("alternative.me's history has not been fetched yet",
                                       details={"upstream": Provider.ALTERNATIVE_ME})
    rows = history["days"][:days]
    data = [{"value": d["value"], "value_classification": d["classification"], "timestamp": d["timestamp"],
             "date": _day(d["timestamp"])[:10]} for d in rows]
    provenance = await _index_provenance(state, history["fetched_at"])
    return JsonResponse(success(days=len(data), data=data, **provenance.to_fields()))


@router.get("/sentiment/symbol/{symbol:path}", responses={200: {"model": SymbolSentimentResponse}, **ERRORS},
            summary="Sentiment of one asset from our scored news: mean score, volume and share of mentions")
async def symbol_sentiment(
    state: StateDep,
    symbol: Annotated[str, Path(min_length=1, max_length=32, description="An asset: BTC, eth, BTC/USDT")],
    window_hours: Annotated[int, Query(ge=1, le=168)] = 24,
) -> JsonResponse:
    base = asset(symbol)
    rows = await state.store.window(now_ms() - window_hours * 3_600_000)
    mentions = sum(len(r.get("related_symbols") or ()) for r in rows)
    own = [r for r in rows if base in (r.get("related_symbols") or ())]
    scores = [r["sentiment_score"] for r in own if r.get("sentiment_score") is not None]
    reddit = [r["sentiment_score"] for r in own if r.get("social") == "reddit" and r.get("sentiment_score") is not None]
    reddit_feeds = [f.name for f in state.settings.rss_feeds if f.social == "reddit"]
    mean = round(sum(scores) / len(scores), 4) if scores else None
    reasons = {"twitter_sentiment": "no Twitter/X source is configured"}
    if mean is None:
        reasons |= {"news_sentiment": f"no scored article mentions {base} in the last {window_hours} hours",
                    "sentiment_score": "follows news_sentiment", "sentiment": "follows news_sentiment"}
    if not mentions:
        reasons["social_dominance"] = f"no asset is mentioned in the last {window_hours} hours"
    if not reddit_feeds:
        reasons["reddit_sentiment"] = "no Reddit feed is configured (a NEWS_RSS_FEEDS row with \"social\": \"reddit\")"
    elif not reddit:
        reasons["reddit_sentiment"] = f"no Reddit post mentions {base} in the last {window_hours} hours"
    provenance = Provenance(source=STORE, fetched_at=now_ms(), notes=[
        "computed from the articles the suite ingested and scored; social_volume counts articles, not posts"])
    return JsonResponse(success(
        symbol=base, sentiment_score=mean, sentiment=components.label(mean) if mean is not None else None,
        news_sentiment=mean, sample_size=len(scores), window_hours=window_hours, social_volume=len(own),
        social_dominance=round(100 * len(own) / mentions, 2) if mentions else None, twitter_sentiment=None,
        reddit_sentiment=round(sum(reddit) / len(reddit), 4) if reddit else None, reasons=reasons,
        **provenance.to_fields()))


@router.post("/sentiment/analyze", responses={200: {"model": AnalyzeResponse}, 413: {"model": ErrorResponse}, **ERRORS},
             summary="Score your own texts with the active sentiment model (shares the scoring cache)")
async def analyze(state: StateDep, request: AnalyzeRequest) -> JsonResponse:
    scored = await state.scorer.score(request.texts)
    loaded = state.scorer.loaded
    provenance = Provenance(source=loaded.name, fetched_at=now_ms())
    if loaded.fallback_reason:
        provenance.fallback = True
        provenance.notes.append(f"the bundled model answered: {loaded.fallback_reason}")
    return JsonResponse(success(model=loaded.name, model_version=loaded.version,
                                results=[s.model_dump() for s in scored], **provenance.to_fields()))
