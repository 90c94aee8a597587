"""POST /v1/strategy-recommendations: the strategies ranked by what they earned on the pair's recent candles
(walk-forward, ai_svc.strategies.backtest), best first; from the request's candles or market-svc's last
AI_RECOMMENDATION_CANDLES."""

import asyncio
from typing import Any

import numpy as np

from ai_svc.domain import indicators
from ai_svc.domain.candles import STEPS, Candles
from ai_svc.service import analysis_input
from ai_svc.service.state import AiState
from ai_svc.strategies import Strategy, named
from ai_svc.strategies.backtest import Measured, walk
from ai_svc.strategies.rules import stances

# Candles before the first step: every strategy's indicators are defined by then (EMA 50 is the longest).
WARMUP = 60
MIN_CANDLES = WARMUP + 2


def measure(candles: Candles, strategies: tuple[Strategy, ...], steps: int) -> dict[str, tuple[Measured, float | None]]:
    """Each strategy's walk-forward figures over the last `steps` steps, and its stance now (CPU-bound)."""
    held = stances(candles, indicators.series(candles))
    start = max(WARMUP, len(candles) - 1 - steps)
    out = {}
    for s in strategies:
        now = float(held[s.name][-1])
        out[s.name] = (walk(held[s.name], candles.c, start), None if np.isnan(now) else round(now, 4))
    return out


def _reasoning(name: str, pair: str, timeframe: str, m: Measured, stance: float | None) -> str:
    hits = f", {m.hit_rate:.1%} of them profitable" if m.hit_rate is not None else ""
    now = f"; its stance now is {stance:+.2f}" if stance is not None else "; no stance now (indicators undefined)"
    return (f"{name} earned {m.return_pct:+.3f} % on {pair} over the last {m.steps} {timeframe} candles "
            f"(positioned on {m.positioned}{hits}; before fees){now}")


async def recommend(state: AiState, *, symbol: str, timeframe_data: dict[str, list[dict[str, float]]] | None,
                    available: list[str] | None) -> dict[str, Any]:
    """The response body: strategies ranked by measured return."""
    strategies = named(available)
    if timeframe_data:
        inp = analysis_input.from_request(symbol, timeframe_data, None, minimum=MIN_CANDLES)
    else:
        inp = await analysis_input.from_market(state, symbol, None, higher_too=False, minimum=MIN_CANDLES,
                                               limit=min(1000, state.settings.recommendation_candles + WARMUP + 2))
    steps = state.settings.recommendation_candles
    measured = await asyncio.to_thread(measure, inp.lead, strategies, steps)
    ranked = sorted(measured.items(), key=lambda item: item[1][0].return_pct, reverse=True)
    first = max(WARMUP, len(inp.lead) - 1 - steps)
    step = STEPS[inp.timeframe]
    pair = str(inp.pair)
    by = {s.name: s for s in strategies}
    return {
        "symbol": pair, "timeframe": inp.timeframe, "ranked_by": "return_pct",
        "window": {"start": int(inp.lead.t[first]) + step, "end": int(inp.lead.t[-1]) + step,
                   "steps": len(inp.lead) - 1 - first},
        "recommendations": [{
            "strategy_name": name, "suitability_score": m.suitability,
            "reasoning": _reasoning(name, pair, inp.timeframe, m, stance),
            "recommended_config": {"enabled": m.return_pct > 0, "weight": m.suitability},
            "style": by[name].style, "stance_now": stance, "measured": m.fields()}
            for name, (m, stance) in ranked],
        "source": inp.source, "provenance": inp.provenance,
    }
