"""The analysis prompt: a template (a system part and a user part) whose `$placeholders` are filled with the
measured inputs of one analysis. It is stored in MongoDB, versioned, and editable through the admin route;
DEFAULT is version 1 of a deployment that has none. Placeholders a template does not use are left out;
unknown ones stay as written."""

import json
import string
from typing import Any

DEFAULT = {
    "system": (
        "You are a professional crypto trading analyst. You receive measured technical data of one trading pair "
        "and decide a trading signal. Reply with one JSON object and nothing else, with exactly these keys: "
        "\"signal\" (\"Long\", \"Short\" or \"Neutral\"), \"confidence\" (a number from 0 to 1: how likely the "
        "call is right) and \"reasoning\" (two to four sentences naming the figures that decided it). Use only "
        "the data given."),
    "user": (
        "Pair: $symbol, $timeframe candles; newest closed candle at $as_of, close $price.\n"
        "Indicators: $indicators\n"
        "Strategy scores (0 fully bearish, 0.5 no view, 1 fully bullish): $strategy_scores\n"
        "Market analysis: $market_analysis\n"
        "Risk: $risk_assessment\n"
        "Forecast $forecast_steps candles ahead (median and 80 % interval, as returns): $forecast\n"
        "The indicator engine's verdict: $engine\n"
        "The trader's context: $context\n"
        "Answer in JSON."),
}
PLACEHOLDERS = ("symbol", "timeframe", "as_of", "price", "indicators", "strategy_scores", "market_analysis",
                "risk_assessment", "forecast", "forecast_steps", "engine", "context")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


def render(template: dict[str, str], variables: dict[str, Any]) -> list[dict[str, str]]:
    """The chat messages of one analysis: the template's parts with the variables filled in."""
    values = {name: _text(value) for name, value in variables.items()}
    return [{"role": "system", "content": string.Template(template["system"]).safe_substitute(values)},
            {"role": "user", "content": string.Template(template["user"]).safe_substitute(values)}]
