"""Recorded Binance websocket frames through stream-svc's frame parser, with no server."""

import json
from pathlib import Path

import orjson

from dm_shared.messages import Ticker, Trade

from stream_svc.adapters.binance_ws import parse, stream_names

DATA = Path(__file__).resolve().parents[3] / "sandbox" / "data" / "binance"


def frame(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_a_recorded_trade_frame_is_a_trade():
    names = stream_names(["ETH/USDT"])
    raw = json.loads(frame("ws_trade_ETHUSDT_combined_stream.json"))["data"]
    trade = parse(frame("ws_trade_ETHUSDT_combined_stream.json"), names)
    assert trade == Trade(exchange="binance", symbol="ETH/USDT", id=str(raw["t"]), price=float(raw["p"]),
                          amount=float(raw["q"]), side="sell" if raw["m"] else "buy", timestamp=raw["T"])


def test_the_documented_ticker_event_is_a_ticker():
    event = json.loads(frame("ws_24hrTicker_BNBBTC_docs_example.json"))
    names = {"bnbbtc@ticker": "BNB/BTC"}
    ticker = parse(orjson.dumps({"stream": "bnbbtc@ticker", "data": event}), names)
    assert ticker == Ticker(exchange="binance", symbol="BNB/BTC", price=float(event["c"]),
                            change_24h=float(event["P"]), volume_24h=float(event["q"]), high_24h=float(event["h"]),
                            low_24h=float(event["l"]), timestamp=event["E"])


def test_frames_that_are_neither_are_skipped():
    names = stream_names(["ETH/USDT"])
    assert parse(b"{not json", names) is None
    assert parse(b'{"result": null, "id": 1}', names) is None  # a control reply
    assert parse(frame("ws_trade_ETHUSDT_combined_stream.json"), stream_names(["BTC/USDT"])) is None
    broken = json.loads(frame("ws_trade_ETHUSDT_combined_stream.json"))
    broken["data"]["p"] = "not a price"
    assert parse(orjson.dumps(broken), names) is None
