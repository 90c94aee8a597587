"""A stored prediction's outcome, once it has expired, from market-svc's candles of its life: signals and
analyses alike (both carry type, entry, target, stop, ATR, timeframe and expiry)."""

import logging
from typing import Any, Protocol

from dm_shared.clock import now_ms
from dm_shared.errors import ApiError

from ai_svc.domain import outcomes
from ai_svc.domain.candles import TIMEFRAMES
from ai_svc.service.state import AiState

log = logging.getLogger("ai.outcomes")


class Judged(Protocol):
    """A store of predictions with expiries."""

    async def due(self, now: int, limit: int = 100) -> list[dict[str, Any]]: ...

    async def close(self, doc_id: str, outcome: dict[str, Any]) -> None: ...


async def judge_due(state: AiState, store: Judged) -> int:
    """Record the outcome of every expired prediction of `store`; returns how many were judged."""
    now, judged = now_ms(), 0
    for doc in await store.due(now):
        step = TIMEFRAMES[doc["timeframe"]]
        since = doc["timestamp"] - doc["timestamp"] % step  # the candle the prediction was made in
        try:
            candles, _ = await state.market.fetch_candles(doc["symbol"], doc["timeframe"], limit=1000, since=since,
                                                          until=doc["expires_at"])
        except ApiError as exc:
            log.info("outcome of %s waits: %s", doc["_id"], exc.message)
            candles, reason = None, f"{exc.code}: {exc.message}"
        else:
            reason = "no candle covers its life yet"
        outcome = None if candles is None else outcomes.judge(
            doc["type"], doc["entry_price"], doc["target_price"], doc["stop_loss"], doc.get("atr"), candles)
        if outcome is not None:
            await store.close(doc["_id"], {**outcome.fields(), "judged_at": now, "reason": None})
            judged += 1
        elif now - doc["expires_at"] > state.settings.outcome_give_up_seconds * 1000:
            await store.close(doc["_id"], {"result": "unresolved", "hit": None, "return_pct": None,
                                           "exit_price": None, "exit_time": None, "candles": 0,
                                           "judged_at": now, "reason": reason})
    return judged
