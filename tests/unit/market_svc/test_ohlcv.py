"""Candle windows."""

from market_svc.domain.ohlcv import select
from market_svc.domain.types import Candle


def candles(*times: int) -> list[Candle]:
    return [Candle(t=t, o=1, h=1, l=1, c=1, v=1) for t in times]


def test_select_keeps_window_order_and_limit():
    rows = candles(5, 1, 3, 2, 4, 3)
    assert [c.t for c in select(rows, since=None, until=None, limit=3)] == [3, 4, 5]
    assert [c.t for c in select(rows, since=2, until=4, limit=10)] == [2, 3, 4]
    assert [c.t for c in select(rows, since=2, until=None, limit=2)] == [2, 3]
