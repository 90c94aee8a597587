"""The `model` object of every answer: name, version, what it was trained on, its measured evaluation
and a plain skill statement, read from the model card (docs/models.md)."""

from typing import Any

from ai_svc.forecast.forecaster import Forecaster

NAMES = {"baseline": "random-walk", "trained": "dm-quantile-mlp", "ensemble": "ensemble(dm-quantile-mlp, random-walk)"}


def evaluation(card: dict[str, Any], method: str) -> dict[str, Any] | None:
    """The card's measured figures of `method` and of the random walk, per horizon and symbol."""
    measured = card.get("evaluation")
    if not measured:
        return None
    out: dict[str, Any] = {"test_span": measured.get("test_span")}
    for horizon, by_symbol in measured.get("horizons", {}).items():
        out[horizon] = {symbol: {**figures.get(method, {}),
                                 "random_walk_mae_pct": figures.get("random_walk_mae_pct"),
                                 "opposite_of_last_move_hit_rate": figures.get("opposite_of_last_move_hit_rate")}
                        for symbol, figures in by_symbol.items()}
    return out


def model_info(forecaster: Forecaster, method: str, timeframe: str = "1h") -> dict[str, Any]:
    """The `model` object for answers made with `method`."""
    card = forecaster.card
    skill = (card.get("skill") or {}).get(method)
    return {
        "name": NAMES[method],
        "version": card.get("version", "uncalibrated"),
        "method": method,
        "timeframe": timeframe,
        "trained_on": card.get("trained_on") if method != "baseline" else
        f"volatility of the last candles; intervals calibrated as the card says ({card.get('trained_on')})",
        "evaluation": evaluation(card, method),
        "skill": skill or "not measured: the model card has no evaluation (run python -m bench.backtest --write)",
        "coverage": card.get("coverage"),
    }
