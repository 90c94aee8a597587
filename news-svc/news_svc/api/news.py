"""Routes: the latest news, read from the store (never from an upstream)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from dm_shared.assets import ASSETS
from dm_shared.clock import now_ms
from dm_shared.envelope import JsonResponse, success
from dm_shared.errors import InvalidSymbolError
from dm_shared.provenance import Provenance
from dm_shared.schemas import ERRORS
from dm_shared.symbols import parse_pair

from news_svc.api.deps import StateDep
from news_svc.ingest.store import decode_cursor, encode_cursor
from news_svc.schemas import NewsResponse

router = APIRouter(prefix="/v1")
STORE = "news-store"
Category = Literal["all", "bitcoin", "ethereum", "defi", "nft"]
Sentiment = Literal["positive", "negative", "neutral"]


def asset(symbol: str) -> str:
    """The registry asset a symbol names (BTC, btc, BTC/USDT ...); INVALID_SYMBOL lists the assets."""
    try:
        base = parse_pair(symbol).base
    except InvalidSymbolError as exc:
        exc.details["supported_symbols"] = sorted(ASSETS)
        raise
    return base


async def freshness(state) -> Provenance:
    """Provenance of stored news: fetched when the poller last ingested."""
    ingested = await state.shared.get("ingested_at")
    now = now_ms()
    return Provenance(source=STORE, fetched_at=ingested or now, age_ms=max(0, now - ingested) if ingested else 0,
                      notes=["articles ingested by the news poller from RSS feeds, CryptoPanic and NewsAPI; each "
                             "names its publisher in `source` and every upstream that carried it in `providers`"])


@router.get("/news/latest", responses={200: {"model": NewsResponse}, **ERRORS},
            summary="Latest crypto news, each story once, tagged with its assets and scored for sentiment")
async def latest(
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    category: Category = "all",
    language: Annotated[str, Query(pattern=r"^([a-z]{2}|all)$", description="ISO 639-1 code, or all")] = "en",
    sentiment: Sentiment | None = None,
    symbol: Annotated[str | None, Query(min_length=1, max_length=32, description="An asset: BTC, eth, ...")] = None,
    source: Annotated[str | None, Query(min_length=1, max_length=64,
                                        description="A publisher (CoinDesk) or an upstream (rss, cryptopanic, newsapi)")
                      ] = None,
    since: Annotated[int | None, Query(ge=0, le=10**13, description="Published at or after, unix ms")] = None,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")] = None,
) -> JsonResponse:
    query: dict = {}
    if category != "all":
        query["categories"] = category
    if language != "all":
        query["language"] = language
    if sentiment:
        query["sentiment"] = sentiment
    if symbol:
        query["related_symbols"] = asset(symbol)
    if source:
        query["$or"] = [{"source_key": source.lower()}, {"providers": source.lower()}]
    if since is not None:
        query["published_ms"] = {"$gte": since}
    after = decode_cursor(cursor) if cursor else None
    rows, total = await state.store.page(query, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1]["published_ms"], rows[-1]["id"]) if more else None
    for row in rows:
        row.pop("published_ms", None)
    provenance = await freshness(state)
    return JsonResponse(success(total=total, count=len(rows), news=rows, next_cursor=next_cursor,
                                **provenance.to_fields()))
