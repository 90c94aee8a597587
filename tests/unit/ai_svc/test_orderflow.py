"""VWAP, cumulative volume delta and imbalance against hand computations on the recorded Binance trades
and book the sandbox serves (decimal arithmetic on the recorded strings)."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from ai_svc.domain import orderflow

DATA = Path(__file__).resolve().parents[3] / "sandbox" / "data" / "binance"


def recorded(name: str):
    return json.loads((DATA / name).read_text())


def as_trades(rows) -> list[dict]:
    # aggTrades: m = the buyer was the maker, so the taker sold.
    return [{"price": float(r["p"]), "amount": float(r["q"]), "side": "sell" if r["m"] else "buy"} for r in rows]


def test_vwap_and_cvd_of_the_recorded_trades():
    rows = recorded("aggTrades_BTCUSDT.json")
    notional = sum(Decimal(r["p"]) * Decimal(r["q"]) for r in rows)
    volume = sum(Decimal(r["q"]) for r in rows)
    delta = sum(-Decimal(r["q"]) if r["m"] else Decimal(r["q"]) for r in rows)
    trades = as_trades(rows)
    assert orderflow.vwap(trades) == pytest.approx(float(notional / volume), rel=1e-12)
    assert orderflow.cvd(trades) == pytest.approx(float(delta), abs=1e-12)
    assert orderflow.trade_imbalance(trades) == pytest.approx(float(delta / volume), rel=1e-9)


def test_book_imbalance_of_the_recorded_depth():
    book = recorded("depth_BTCUSDT_limit10.json")
    bids = sum(Decimal(q) for _, q in book["bids"][:10])
    asks = sum(Decimal(q) for _, q in book["asks"][:10])
    mapped = {side: [(float(p), float(q)) for p, q in book[side]] for side in ("bids", "asks")}
    assert orderflow.book_imbalance(mapped["bids"], mapped["asks"]) == pytest.approx(
        float((bids - asks) / (bids + asks)), rel=1e-9)
    assert orderflow.book_imbalance(mapped["bids"], mapped["asks"], levels=1) == pytest.approx(
        float((Decimal(book["bids"][0][1]) - Decimal(book["asks"][0][1]))
              / (Decimal(book["bids"][0][1]) + Decimal(book["asks"][0][1]))), rel=1e-9)


def test_nothing_to_measure_is_none():
    assert orderflow.vwap([]) is None and orderflow.cvd([]) is None
    assert orderflow.cvd([{"price": 1.0, "amount": 2.0, "side": None}]) is None
    assert orderflow.book_imbalance([], []) is None
