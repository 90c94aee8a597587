"""Order-flow figures TA-Lib has none of (seed 003): VWAP and cumulative volume delta from public trades,
imbalance from the order book and from the trades.

A trade's side is the taker's: a buy lifts the ask (+ volume delta), a sell hits the bid (-).
"""

from collections.abc import Mapping, Sequence
from typing import Any

BOOK_LEVELS = 10


def vwap(trades: Sequence[Mapping[str, Any]]) -> float | None:
    """Volume-weighted average price of the trades: sum(price x amount) / sum(amount)."""
    volume = sum(t["amount"] for t in trades)
    return sum(t["price"] * t["amount"] for t in trades) / volume if volume > 0 else None


def cvd(trades: Sequence[Mapping[str, Any]]) -> float | None:
    """Cumulative volume delta: taker buy volume minus taker sell volume, in the base asset; None when no
    trade says its side."""
    sided = [t for t in trades if t.get("side") in ("buy", "sell")]
    if not sided:
        return None
    return sum(t["amount"] if t["side"] == "buy" else -t["amount"] for t in sided)


def trade_imbalance(trades: Sequence[Mapping[str, Any]]) -> float | None:
    """(buy - sell) / (buy + sell) taker volume, from -1 (all sells) to 1 (all buys)."""
    sided = [t for t in trades if t.get("side") in ("buy", "sell")]
    total = sum(t["amount"] for t in sided)
    delta = cvd(sided)
    return delta / total if delta is not None and total > 0 else None


def book_imbalance(bids: Sequence[Sequence[float]], asks: Sequence[Sequence[float]],
                   levels: int = BOOK_LEVELS) -> float | None:
    """Order-flow imbalance of the book: (bid depth - ask depth) / (bid depth + ask depth) over the best
    `levels` levels a side, in the base asset; from -1 (only asks) to 1 (only bids)."""
    bid_depth = sum(amount for _, amount in bids[:levels])
    ask_depth = sum(amount for _, amount in asks[:levels])
    total = bid_depth + ask_depth
    return (bid_depth - ask_depth) / total if total > 0 else None
