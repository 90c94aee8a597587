"""Route: recent whale alerts."""

from typing import Annotated

from fastapi import APIRouter, Query

from dm_shared.envelope import JsonResponse, success
from dm_shared.schemas import ERRORS

from chain_svc.api.deps import SourcesDep, StoreDep
from chain_svc.domain.chains import ChainName
from chain_svc.schemas import WhaleAlertsResponse
from chain_svc.service.alerts import get_alerts

router = APIRouter(prefix="/v1")


@router.get("/whale-alerts", responses={200: {"model": WhaleAlertsResponse}, **ERRORS},
            summary="Recent large transfers, with the owners of known wallets and their USD value")
async def whale_alerts(
    sources: SourcesDep,
    store: StoreDep,
    min_value: Annotated[float, Query(ge=0, le=1e13, description="Minimum USD value")] = 1_000_000,
    chain: ChainName | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> JsonResponse:
    alerts, provenance = await get_alerts(sources, store, min_usd=min_value, chain=chain, limit=limit)
    return JsonResponse(success(min_value=min_value, chain=chain, count=len(alerts),
                                alerts=[a.model_dump(by_alias=True) for a in alerts], **provenance.to_fields()))
