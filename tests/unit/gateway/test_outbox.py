"""A websocket client's outbox: latest-wins tickers, bounded trades with announced gaps; the sweeper's
heartbeats, idle close and slow close."""

import orjson

from gateway.channels import CHANNELS
from gateway.settings import WsSettings
from gateway.streams import Outbox
from gateway.ws import CLOSE_IDLE, CLOSE_SLOW, Session, Sweeper

TICKER, TRADES = CHANNELS[:2]


def message(channel: str, seq: int, symbol: str = "BTC/USDT", price: float = 1.0) -> dict:
    return {"channel": channel, "data": {"symbol": symbol, "price": price, "seq": seq, "exchange": "binance"}}


def drained(box: Outbox) -> list[dict]:
    return [orjson.loads(frame) for frame in box.drain()]  # frames are JSON text


def offer(box: Outbox, channel, seq: int, symbol: str = "BTC/USDT", price: float = 1.0, **options) -> None:
    box.offer(channel, symbol, message(channel.name, seq, symbol, price), **options)


def test_tickers_keep_only_the_latest_per_symbol():
    box = Outbox(max_pending=10)
    for seq in range(1, 6):
        offer(box, TICKER, seq, price=float(seq))
    offer(box, TICKER, 1, symbol="ETH/USDT")
    sent = drained(box)
    assert [(m["data"]["symbol"], m["data"]["price"]) for m in sent] == [("BTC/USDT", 5.0), ("ETH/USDT", 1.0)]


def test_trades_beyond_the_bound_are_dropped_and_announced_as_one_gap():
    box = Outbox(max_pending=3)
    for seq in range(1, 11):
        offer(box, TRADES, seq)
    sent = drained(box)
    gap, trades = sent[0], sent[1:]
    assert gap == {"type": "gap", "channel": "trades", "symbol": "BTC/USDT", "exchange": "binance",
                   "from_seq": 4, "to_seq": 10, "missed": 7, "reason": "client too slow"}
    assert [t["data"]["seq"] for t in trades] == [1, 2, 3]
    assert box.full_since is not None


def test_an_upstream_gap_in_sequence_numbers_is_announced():
    box = Outbox(max_pending=10)
    offer(box, TRADES, 1)
    offer(box, TRADES, 5)
    gap = drained(box)[0]
    assert (gap["from_seq"], gap["to_seq"], gap["missed"], gap["reason"]) == (2, 4, 3, "upstream")


async def test_the_sweeper_beats_then_closes_a_silent_client_and_a_slow_one():
    sweeper = Sweeper(WsSettings(heartbeat_seconds=10, idle_seconds=25, slow_seconds=5, max_pending_trades=1))
    quiet = Session(None, None, sweeper.limits, {"ticker": TICKER})
    slow = Session(None, None, sweeper.limits, {"trades": TRADES})
    sweeper.sessions |= {quiet, slow}
    start = quiet.last_heard
    sweeper.sweep(start + 5)
    assert quiet.outbox.drain() == [] and not quiet.ended.done()
    sweeper.sweep(start + 11)
    assert orjson.loads(quiet.outbox.drain()[0])["type"] == "heartbeat"
    slow.last_heard = start + 11
    slow.outbox.full_since = start + 12  # behind from here on
    sweeper.sweep(start + 16)
    assert not slow.ended.done()
    sweeper.sweep(start + 18)
    assert slow.ended.result() == CLOSE_SLOW and not quiet.ended.done()
    sweeper.sweep(start + 26)
    assert quiet.ended.result() == CLOSE_IDLE


def test_live_trades_held_during_a_replay_follow_it_without_repeats():
    box = Outbox(max_pending=100)
    box.hold("trades", "BTC/USDT")
    for seq in (7, 8, 9):  # live, arriving while the replay runs
        offer(box, TRADES, seq)
    for seq in (4, 5, 6, 7):  # the replay overlaps the live stream by one
        offer(box, TRADES, seq, replayed=True)
    box.release(TRADES, "BTC/USDT")
    assert [m["data"]["seq"] for m in drained(box)] == [4, 5, 6, 7, 8, 9]
