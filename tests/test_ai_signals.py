"""Signals with two ai-svc replicas: made on the schedule by the lease holder, stored once, published once
on NATS and delivered once to a /ws subscriber; an expired signal's outcome comes from the sandbox's candles."""

import asyncio
import csv
import json
import time

import httpx
import nats
import orjson
import pytest
import websockets

from devstack.catalogue import CATALOGUE, replica

from helpers import SANDBOX_DATA, SUITE_ENV, running_suite

INTERVAL = 3
ENV = {
    "AI_SIGNAL_INTERVAL_SECONDS": str(INTERVAL),
    "AI_SIGNAL_EXPIRY_SECONDS": "2",
    "AI_OUTCOME_INTERVAL_SECONDS": "1",
    "AI_LEASE_TTL_SECONDS": "4",
    "AI_LEASE_RENEW_SECONDS": "1",
    # A news-svc that is down: nothing listens there.
    "AI_NEWS_URL": "http://127.0.0.1:9",
    "GATEWAY_CACHE_TTL": json.dumps({**json.loads(SUITE_ENV["GATEWAY_CACHE_TTL"]), "ai_signals": 1}),
}
PAIRS = {"BTC/USDT", "ETH/USDT"}


@pytest.fixture(scope="module")
def two_replicas(tmp_path_factory):
    components = ["redis", "nats", "mongo", "sandbox", "market", "ai", "ai-1", "gateway", "traefik"]
    with running_suite(tmp_path_factory.mktemp("ai-signals"), ENV, components=components,
                       catalogue=(*CATALOGUE, replica("ai", 1))) as stack:
        yield stack


def health(stack, name: str) -> dict:
    return httpx.get(stack.url(name) + "/health", timeout=5).json()


def wait_for(condition, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"not within {timeout}s")


def hourly_rows(symbol: str) -> list[dict[str, str]]:
    with open(SANDBOX_DATA / "history" / f"{symbol}_1h.csv") as handle:
        return list(csv.DictReader(handle))


async def test_signals_appear_on_the_schedule_once_each_on_nats_and_on_ws(two_replicas):
    stack = two_replicas
    wait_for(lambda: sum(health(stack, n)["generating"] for n in ("ai", "ai-1")) == 1, 20)
    nc = await nats.connect(stack.url("nats"))
    on_nats: list[dict] = []

    async def on_message(msg):
        on_nats.append(orjson.loads(msg.data))

    await nc.subscribe("ai.signal.>", cb=on_message)
    ws_url = stack.url("traefik").replace("http://", "ws://") + "/ws"
    on_ws: list[dict] = []
    async with websockets.connect(ws_url) as ws:
        await ws.recv()  # connection
        await ws.send(json.dumps({"action": "subscribe", "channel": "signals", "symbols": ["BTC/USDT", "eth"]}))

        async def listen():
            while True:
                message = orjson.loads(await ws.recv())
                if message.get("channel") == "signals" and "data" in message:
                    on_ws.append(message["data"])

        listener = asyncio.create_task(listen())
        await asyncio.sleep(INTERVAL * 3 + 1.5)
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
    await nc.close()

    ids = [m["id"] for m in on_nats]
    assert len(ids) >= 2 * len(PAIRS) and len(ids) == len(set(ids))  # on the schedule, each once
    slots = {}
    for message in on_nats:
        slots.setdefault(message["timestamp"], set()).add(message["symbol"])
    assert len(slots) >= 2 and all(s == PAIRS for s in list(slots.values())[:-1])
    assert all(t2 - t1 == INTERVAL * 1000 for t1, t2 in zip(sorted(slots), sorted(slots)[1:], strict=False))
    assert len({m["producer"] for m in on_nats}) == 1  # only the lease holder publishes
    assert sorted(d["id"] for d in on_ws) == sorted(ids)  # the /ws subscriber got each once
    stored = httpx.get(stack.url("traefik") + "/api/ai/signals", params={"limit": 100}).json()["signals"]
    by_id = {s["id"]: s for s in stored}
    for message in on_nats:
        signal = by_id[message["id"]]
        assert signal["type"] == message["signal"] and signal["entry_price"] == message["entry_price"]
        assert signal["confidence"] == message["confidence"] and signal["reasoning"] == message["reasoning"]
        assert signal["model"]["skill"] and signal["calibration"]["backtest_signals"] > 0
        assert signal["sentiment"] is None and signal["sentiment_reason"]  # no news-svc in this suite


def test_signals_are_filtered_by_symbol_timeframe_confidence_and_limit(two_replicas):
    api = two_replicas.url("traefik") + "/api/ai/signals"
    every = httpx.get(api, params={"limit": 100}).json()["signals"]
    assert every and [s["timestamp"] for s in every] == sorted((s["timestamp"] for s in every), reverse=True)
    eth = httpx.get(api, params={"symbol": "ethusdt", "limit": 100}).json()["signals"]
    assert eth and {s["symbol"] for s in eth} == {"ETH/USDT"}
    assert httpx.get(api, params={"timeframe": "4h"}).json()["signals"] == []  # only 1h is generated here
    threshold = sorted(s["confidence"] for s in every)[len(every) // 2]
    confident = httpx.get(api, params={"min_confidence": threshold, "limit": 100}).json()["signals"]
    assert confident and all(s["confidence"] >= threshold for s in confident)
    assert len(every) < 100  # so every signal above the threshold is among the filtered answer
    assert {s["id"] for s in every if s["confidence"] >= threshold} <= {s["id"] for s in confident}
    assert len(httpx.get(api, params={"limit": 3}).json()["signals"]) == 3


def test_an_expired_signal_gets_its_outcome_from_the_sandbox_candles(two_replicas):
    api = two_replicas.url("traefik") + "/api/ai/signals"

    def closed():
        signals = httpx.get(api, params={"symbol": "BTC/USDT", "limit": 100}).json()["signals"]
        return [s for s in signals if s["status"] == "closed"]

    signal = wait_for(closed, 20)[0]
    rows = hourly_rows("BTCUSDT")
    entry, candle = float(rows[-2]["c"]), rows[-1]  # made on the newest closed candle; judged on the one after
    assert signal["entry_price"] == entry
    outcome = signal["outcome"]
    assert outcome["candles"] == 1 and outcome["judged_at"] >= signal["expires_at"]
    high, low, close = float(candle["h"]), float(candle["l"]), float(candle["c"])
    if signal["type"] == "hold":
        band = signal["indicators"]["atr_14"]
        held = high <= entry + band and low >= entry - band
        assert outcome["result"] == ("range_held" if held else "range_broken") and outcome["hit"] is held
        assert outcome["return_pct"] == pytest.approx(close / entry - 1, abs=1e-6)
    else:
        sign = 1 if signal["type"] == "buy" else -1
        worst, best = (low, high) if sign > 0 else (high, low)
        if sign * (worst - signal["stop_loss"]) <= 0:
            assert outcome["result"] == "stop_hit" and outcome["exit_price"] == signal["stop_loss"]
        elif sign * (best - signal["target_price"]) >= 0:
            assert outcome["result"] == "target_hit" and outcome["exit_price"] == signal["target_price"]
        else:
            assert outcome["result"] == "expired" and outcome["exit_price"] == close
            assert outcome["return_pct"] == pytest.approx(sign * (close / entry - 1), abs=1e-6)


def test_analysis_answers_with_news_svc_down_and_says_why(two_replicas):
    response = httpx.get(two_replicas.url("traefik") + "/api/ai/analysis/ETH", timeout=30)
    assert response.status_code == 200
    analysis = response.json()["analysis"]
    assert analysis["sentiment"] is None
    assert analysis["missing"]["sentiment"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert "news-svc" in analysis["missing"]["sentiment"]["message"]
    assert analysis["technical"] is not None and analysis["prediction"] is not None
    news = health(two_replicas, "ai")["components"]["news-svc"]
    assert news["kind"] == "source"


def test_the_other_replica_takes_over_when_the_generator_dies(two_replicas):
    stack = two_replicas
    leader = wait_for(lambda: next((n for n in ("ai", "ai-1") if health(stack, n)["generating"]), None), 20)
    other = "ai-1" if leader == "ai" else "ai"
    stack.kill(leader)
    took = wait_for(lambda: health(stack, other)["generating"], 15)
    assert took
    before = health(stack, other)["signals_made"]
    wait_for(lambda: health(stack, other)["signals_made"] > before, INTERVAL * 3)
    stack.start(leader)


def test_without_mongodb_signals_say_so_and_forecasts_still_answer(two_replicas):
    base = two_replicas.url("traefik")
    two_replicas.stop("mongo")
    try:
        response = httpx.get(base + "/api/ai/signals", params={"limit": 7}, timeout=30)
        assert response.status_code == 503 and response.json()["error"]["code"] == "STORE_UNAVAILABLE"
        forecast = httpx.post(base + "/api/ai/predict", json={"symbol": "BTC", "horizon": 2}, timeout=30)
        assert forecast.status_code == 200 and len(forecast.json()["predictions"]) == 2
        assert health(two_replicas, "ai")["components"]["mongo"]["status"] == "unhealthy"
    finally:
        two_replicas.start("mongo")


async def test_a_signal_made_twice_is_stored_once_and_published_once(two_replicas):
    """Two makers of one slot (a lease hand-over), and a publish repeated after a crash before it was
    recorded: MongoDB keeps one document per id, JetStream one message per Nats-Msg-Id."""
    from types import SimpleNamespace

    from dm_shared.bus import Bus, Publisher
    from dm_shared.mongo import database, open_mongo

    from ai_svc.service.generator import Generator
    from ai_svc.service.store import SignalStore
    from ai_svc.settings import AiSettings

    url = two_replicas.url("mongo") + "/dedup_test"
    mongo = open_mongo(url)
    store = SignalStore(database(mongo, url))
    bus = Bus(two_replicas.url("nats"), name="dedup-test")
    await bus.start()
    for _ in range(100):
        if bus.connected:
            break
        await asyncio.sleep(0.1)
    slot = 1_000 * int(time.time())
    doc = {"_id": f"sig_BTC-USDT_1h_{slot}", "symbol": "BTC/USDT", "type": "hold", "confidence": 0.5, "score": 1.0,
           "timeframe": "1h", "entry_price": 1.0, "target_price": None, "stop_loss": None, "risk_reward": None,
           "model": {"name": "test", "version": "0"}, "reasoning": ["made by a test"], "timestamp": slot,
           "expires_at": slot + 1, "status": "open", "published": False}
    try:
        assert await store.insert(dict(doc)) is True
        assert await store.insert(dict(doc)) is False  # the second maker of the slot stores nothing
        state = SimpleNamespace(store=store, settings=AiSettings())
        generator = Generator(state, Publisher(bus, producer="test"))
        await generator.publish_pending()
        await store.signals.update_one({"_id": doc["_id"]}, {"$set": {"published": False}})  # crash before marking
        await generator.publish_pending()
        assert generator.publisher.published == 2
        kept = [orjson.loads(m.data)["id"] async for m in bus.replay("ai.signal.BTC-USDT")]
        assert kept.count(doc["_id"]) == 1
    finally:
        await store.signals.drop()
        await bus.close()
        await mongo.close()
