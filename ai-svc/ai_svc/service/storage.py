"""GET /v1/storage/stats and POST /v1/storage/clear (spec 004's storage endpoints) over the analysis store."""

from typing import Any

from dm_shared.clock import now_ms

from ai_svc.service.analysis_store import ARCHIVE, COLLECTION
from ai_svc.service.analyze import iso
from ai_svc.service.state import AiState


async def stats(state: AiState) -> dict[str, Any]:
    """Analyses stored per symbol, and what else the store keeps."""
    groups, archived = await state.analyses.stats()
    return {
        "total_analyses": sum(g["count"] for g in groups), "symbols_analyzed": len(groups),
        "symbol_breakdown": [{"symbol": g["_id"], "analysis_count": g["count"], "latest_analysis": iso(g["latest"]),
                              "latest_analysis_ms": g["latest"]} for g in groups],
        "analysis_interval_minutes": state.settings.analysis_interval_seconds / 60, "collection_name": COLLECTION,
        "archived_analyses": archived, "archive_collection": ARCHIVE, "clear_mode": state.settings.storage_clear_mode,
        "feedback_count": await state.feedback.count(), "llm_decisions": await state.decisions.count(),
    }


async def clear(state: AiState) -> dict[str, Any]:
    """Empty the analysis collection the way AI_STORAGE_CLEAR_MODE says, and say how many."""
    mode = state.settings.storage_clear_mode
    cleared = await state.analyses.clear(mode)
    verb = "archived to " + ARCHIVE if mode == "archive" else "deleted"
    return {"message": f"Storage cleared successfully: {cleared} analyses {verb}", "cleared_analyses": cleared,
            "mode": mode, "archive_collection": ARCHIVE if mode == "archive" else None,
            "timestamp_iso": iso(now_ms())}
