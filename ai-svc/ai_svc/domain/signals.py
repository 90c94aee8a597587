"""The signal rule: indicators, the forecast and news sentiment vote; the net vote decides buy, sell or
hold, its size is the score, and the ATR sets the stop and the target. The reasoning lists the real
values that voted."""

from dataclasses import dataclass, field
from typing import Any

# Vote weights. The forecast counts double: it is the one input measured against the random walk.
WEIGHTS = {"forecast": 2.0, "rsi": 1.0, "macd": 1.0, "trend": 1.0, "stoch_rsi": 0.5, "bollinger": 0.5,
           "sentiment": 1.0}
ACT_AT = 0.25  # |net vote| from which a signal is buy or sell rather than hold
STOP_ATR, TARGET_ATR = 1.0, 1.5  # stop and target distances in ATR 14
RSI_LOW, RSI_HIGH = 30.0, 70.0
HORIZON_CANDLES = 4  # a signal lives this many candles of its timeframe


@dataclass
class Forecast:
    """The forecast at the signal's horizon, as returns (0.01 = 1 %)."""

    median: float
    low: float
    high: float
    steps: int


@dataclass
class Decision:
    """What the rule decided and why."""

    type: str
    net: float
    score: float
    reasoning: list[str] = field(default_factory=list)
    votes: dict[str, float] = field(default_factory=dict)


def _pct(x: float) -> str:
    return f"{x * 100:+.2f} %"


def votes(values: dict[str, Any], price: float, forecast: Forecast | None,
          sentiment: dict[str, Any] | None) -> tuple[dict[str, float], list[str]]:
    """Each input's vote in [-1, 1] and the sentence that says why, for the inputs that are defined."""
    vote: dict[str, float] = {}
    why: list[str] = []
    if forecast is not None and forecast.high > forecast.low:
        half = (forecast.high - forecast.low) / 2
        vote["forecast"] = max(-1.0, min(1.0, forecast.median / half / 0.25))
        why.append(f"Forecast median {_pct(forecast.median)} over {forecast.steps} candles "
                   f"(80 % interval {_pct(forecast.low)} to {_pct(forecast.high)})")
    rsi = values.get("rsi_14")
    if rsi is not None:
        vote["rsi"] = 1.0 if rsi < RSI_LOW else -1.0 if rsi > RSI_HIGH else 0.0
        state = "oversold" if rsi < RSI_LOW else "overbought" if rsi > RSI_HIGH else "neutral"
        why.append(f"RSI 14 at {rsi:.1f} ({state})")
    cross, macd, signal = values.get("macd_cross"), values.get("macd"), values.get("macd_signal")
    if cross is not None:
        vote["macd"] = {"bullish_crossover": 1.0, "bullish": 0.5, "bearish": -0.5, "bearish_crossover": -1.0}[cross]
        why.append(f"MACD {cross.replace('_', ' ')} (MACD {macd:.4g}, signal {signal:.4g})")
    ema21, ema50 = values.get("ema_21"), values.get("ema_50")
    if ema21 is not None and ema50 is not None:
        up, down = price > ema50 and ema21 > ema50, price < ema50 and ema21 < ema50
        vote["trend"] = 1.0 if up else -1.0 if down else 0.0
        why.append(f"Price {price:.6g} {'above' if price > ema50 else 'below'} EMA 50 {ema50:.6g}; "
                   f"EMA 21 {ema21:.6g} {'above' if ema21 > ema50 else 'below'} it")
    k, d = values.get("stoch_rsi_k"), values.get("stoch_rsi_d")
    if k is not None and d is not None:
        vote["stoch_rsi"] = 1.0 if k < 20 and k > d else -1.0 if k > 80 and k < d else 0.0
        if vote["stoch_rsi"]:
            turn = "up from oversold" if vote["stoch_rsi"] > 0 else "down from overbought"
            why.append(f"Stochastic RSI {k:.1f} turning {turn} (%D {d:.1f})")
    b = values.get("bb_percent_b")
    if b is not None:
        vote["bollinger"] = 1.0 if b < 0 else -1.0 if b > 1 else 0.0
        if vote["bollinger"]:
            why.append(f"Price {'below the lower' if b < 0 else 'above the upper'} Bollinger band (%B {b:.2f})")
    if sentiment is not None and sentiment.get("sentiment") in ("positive", "negative", "neutral"):
        label = sentiment["sentiment"]
        vote["sentiment"] = {"positive": 1.0, "negative": -1.0, "neutral": 0.0}[label]
        why.append(f"News sentiment {label} (score {sentiment.get('sentiment_score')}) from news-svc")
    return vote, why


def decide(values: dict[str, Any], price: float, forecast: Forecast | None,
           sentiment: dict[str, Any] | None) -> Decision:
    """Buy, sell or hold, with the weighted net vote in [-1, 1] and a 0-10 score."""
    vote, why = votes(values, price, forecast, sentiment)
    total = sum(WEIGHTS[name] for name in vote)
    net = sum(WEIGHTS[name] * v for name, v in vote.items()) / total if total else 0.0
    kind = "buy" if net >= ACT_AT else "sell" if net <= -ACT_AT else "hold"
    why.insert(0, f"Net vote {net:+.2f} of {len(vote)} inputs ({'at or beyond' if kind != 'hold' else 'within'} "
                  f"±{ACT_AT} for a trade)")
    return Decision(type=kind, net=round(net, 4), score=round(abs(net) * 10, 2), reasoning=why, votes=vote)


def levels(kind: str, entry: float, atr: float | None) -> tuple[float | None, float | None, float | None]:
    """Target, stop and risk/reward of a buy or sell from the ATR; none for a hold or without an ATR."""
    if kind == "hold" or not atr:
        return None, None, None
    sign = 1.0 if kind == "buy" else -1.0
    return entry + sign * TARGET_ATR * atr, entry - sign * STOP_ATR * atr, TARGET_ATR / STOP_ATR
