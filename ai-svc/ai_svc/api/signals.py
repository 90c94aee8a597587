"""Route: GET /v1/signals (spec 002 section 4.1)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from dm_shared.clock import now_ms
from dm_shared.envelope import JsonResponse, success
from dm_shared.provenance import Provenance
from dm_shared.schemas import ERRORS
from dm_shared.symbols import parse_pair

from ai_svc.api.deps import StateDep
from ai_svc.schemas import SignalsResponse

router = APIRouter(prefix="/v1")
PUBLIC = ("id", "symbol", "type", "confidence", "score", "timeframe", "entry_price", "target_price", "stop_loss",
          "risk_reward", "model", "reasoning", "indicators", "calibration", "sentiment", "sentiment_reason",
          "timestamp", "expires_at", "status", "outcome")


def to_public(doc: dict) -> dict:
    """A stored signal as the API shows it."""
    return {name: doc["_id"] if name == "id" else doc.get(name) for name in PUBLIC}


@router.get("/signals", responses={200: {"model": SignalsResponse}, **ERRORS},
            summary="Trading signals, newest first, with the outcome of those that expired")
async def list_signals(
    state: StateDep,
    symbol: Annotated[str | None, Query(min_length=1, max_length=32, description="Only this pair")] = None,
    timeframe: Literal["1h", "4h", "1d"] | None = None,
    min_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> JsonResponse:
    pair = str(parse_pair(symbol)) if symbol else None
    docs = await state.store.find(symbol=pair, timeframe=timeframe, min_confidence=min_confidence, limit=limit)
    provenance = Provenance(source="ai-svc", fetched_at=now_ms(),
                            notes=["signals are made by ai-svc's generator and kept in MongoDB"])
    return JsonResponse(success(count=len(docs), signals=[to_public(d) for d in docs], **provenance.to_fields()))
