"""Routes: GET /v1/storage/stats and POST /v1/storage/clear (spec 004; clear needs the admin scope at the
gateway)."""

from fastapi import APIRouter

from dm_shared.envelope import JsonResponse, success
from dm_shared.schemas import ERRORS

from ai_svc.api.deps import StateDep
from ai_svc.service import storage
from ai_svc.trading_schemas import StorageClearResponse, StorageStatsResponse

router = APIRouter(prefix="/v1")


@router.get("/storage/stats", responses={200: {"model": StorageStatsResponse}, **ERRORS},
            summary="Analyses stored per pair, and what else the store keeps")
async def storage_stats(state: StateDep) -> JsonResponse:
    return JsonResponse(success(**await storage.stats(state)))


@router.post("/storage/clear", responses={200: {"model": StorageClearResponse}, **ERRORS},
             summary="Clear the stored analyses: archived or deleted as AI_STORAGE_CLEAR_MODE says, and how many")
async def storage_clear(state: StateDep) -> JsonResponse:
    return JsonResponse(success(**await storage.clear(state)))
