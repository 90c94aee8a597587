"""POST /v1/market-condition: condition type and phase from the measured trend, volatility and volume of the
request's candles (its lead timeframe, all of them) or of market-svc's last AI_CONDITION_CANDLES."""

import asyncio
from typing import Any

from ai_svc.domain import condition
from ai_svc.service import analysis_input
from ai_svc.service.state import AiState
from ai_svc.strategies import STRATEGIES

# Styles that suit a condition: trends are followed, ranges faded; a breakout or a trend adds volume.
STYLES = {"Trending Up": ("trend", "volume"), "Trending Down": ("trend", "volume"), "Sideways": ("mean_reversion",)}


def suited(kind: str, phase: str) -> list[str]:
    """The strategies whose style suits the condition."""
    styles = set(STYLES[kind]) | ({"volume"} if phase == "Breakout" else set())
    return [s.name for s in STRATEGIES if s.style in styles]


async def market_condition(state: AiState, *, symbol: str,
                           timeframe_data: dict[str, list[dict[str, float]]] | None) -> dict[str, Any]:
    """The response body."""
    if timeframe_data:
        inp = analysis_input.from_request(symbol, timeframe_data, None, minimum=condition.MIN_CANDLES)
        candles = inp.lead
    else:
        count = state.settings.condition_candles
        inp = await analysis_input.from_market(state, symbol, None, higher_too=False,
                                               minimum=max(condition.MIN_CANDLES, count), limit=min(1000, count + 2))
        candles = inp.lead.tail(count)
    found = await asyncio.to_thread(condition.read, candles)
    return {"symbol": str(inp.pair), "condition_type": found.condition_type, "confidence": found.confidence,
            "characteristics": found.characteristics,
            "recommended_strategies": suited(found.condition_type, found.market_phase),
            "market_phase": found.market_phase, "measurements": found.measurements, "timeframe": inp.timeframe,
            "source": inp.source, "provenance": inp.provenance}
