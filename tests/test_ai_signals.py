"""Signals and spec 004's periodic analyses with two ai-svc replicas: made on the schedule by the lease holder,
stored once, published once on NATS and delivered once to a /ws subscriber; an expired signal's or analysis's
outcome comes from the sandbox's candles, and /api/ai/performance is computed from those outcomes and feedback."""

import asyncio
import csv
import itertools
import json
import time

import httpx
import nats
import orjson
import pymongo
import pytest
import websockets

from devstack.catalogue import CATALOGUE, replica

from helpers import SANDBOX_DATA, SUITE_ENV, create_key, running_suite

INTERVAL = 3
ENV = {
    "AI_SIGNAL_INTERVAL_SECONDS": str(INTERVAL),
    "AI_SIGNAL_EXPIRY_SECONDS": "2",
    "AI_OUTCOME_INTERVAL_SECONDS": "1",
    "AI_LEASE_TTL_SECONDS": "4",
    "AI_LEASE_RENEW_SECONDS": "1",
    # A news-svc that is down: nothing listens there.
    "AI_NEWS_URL": "http://127.0.0.1:9",
    # Spec 004's runner on the same schedule, its analyses judged 2 s after they are made; no LLM here.
    "AI_ANALYSIS_INTERVAL_SECONDS": str(INTERVAL),
    "AI_ANALYSIS_EXPIRY_SECONDS": "2",
    "AI_LLM_ENABLED": "false",
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


async def listen(stack, seconds: float) -> tuple[list[dict], list[dict]]:
    """Every message on ai.signal.> at NATS for `seconds`, and every message of a /ws `signals` subscriber to
    both pairs over a longer window around it: the subscriber's "subscribed" comes before NATS is listened to,
    and it keeps listening a second after, so whatever NATS carried in its window reached the subscriber too."""
    ws_url = stack.url("traefik").replace("http://", "ws://") + "/ws"
    on_nats: list[dict] = []
    on_ws: list[dict] = []

    async def on_message(msg):
        on_nats.append(orjson.loads(msg.data))

    async with websockets.connect(ws_url) as ws:
        await ws.recv()  # connection
        await ws.send(json.dumps({"action": "subscribe", "channel": "signals", "symbols": ["BTC/USDT", "eth"]}))
        while (message := orjson.loads(await ws.recv())).get("type") != "subscribed":
            on_ws.append(message)

        async def receive():
            while True:
                on_ws.append(orjson.loads(await ws.recv()))

        listener = asyncio.create_task(receive())
        nc = await nats.connect(stack.url("nats"))
        subscription = await nc.subscribe("ai.signal.>", cb=on_message)
        await nc.flush()
        await asyncio.sleep(seconds)
        await subscription.unsubscribe()
        await nc.close()
        await asyncio.sleep(1)
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
    return on_nats, on_ws


def delivered_once(ws_ids: list[str], nats_ids: list[str]) -> bool:
    """The /ws subscriber got each id once, and every id NATS carried while it listened; its longer window may
    hold a slot more at either end (one id per pair)."""
    extra = set(ws_ids) - set(nats_ids)
    return len(ws_ids) == len(set(ws_ids)) and set(nats_ids) <= set(ws_ids) and len(extra) <= 2 * len(PAIRS)


async def test_signals_appear_on_the_schedule_once_each_on_nats_and_on_ws(two_replicas):
    stack = two_replicas
    wait_for(lambda: sum(health(stack, n)["generating"] for n in ("ai", "ai-1")) == 1, 20)
    everything, ws_messages = await listen(stack, INTERVAL * 3 + 1.5)
    on_nats = [m for m in everything if m["type"] == "signal"]
    on_ws = [m["data"] for m in ws_messages if m.get("channel") == "signals" and "data" in m and "type" not in m]
    ids = [m["id"] for m in on_nats]
    assert len(ids) >= 2 * len(PAIRS) and len(ids) == len(set(ids))  # on the schedule, each once
    slots = {}
    for message in on_nats:
        slots.setdefault(message["timestamp"], set()).add(message["symbol"])
    assert len(slots) >= 2 and all(s == PAIRS for s in list(slots.values())[:-1])
    assert all(t2 - t1 == INTERVAL * 1000 for t1, t2 in zip(sorted(slots), sorted(slots)[1:], strict=False))
    assert len({m["producer"] for m in on_nats}) == 1  # only the lease holder publishes
    assert delivered_once([d["id"] for d in on_ws], ids)
    stored = httpx.get(stack.url("traefik") + "/api/ai/signals", params={"limit": 100}).json()["signals"]
    by_id = {s["id"]: s for s in stored}
    assert all(d["id"] in by_id for d in on_ws)  # the subscriber's extra slot, if any, is a stored signal too
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


async def test_the_runner_publishes_ai_signal_received_once_per_pair_and_slot_on_nats_and_ws(two_replicas):
    stack = two_replicas
    everything, ws_messages = await listen(stack, INTERVAL * 3 + 1.5)
    on_nats = [m for m in everything if m["type"] == "AISignalReceived"]
    ids = [m["data"]["id"] for m in on_nats]
    assert len(ids) >= 2 * len(PAIRS) and len(ids) == len(set(ids))  # each analysis once
    slots: dict[int, set[str]] = {}
    for message in on_nats:
        slots.setdefault(int(message["data"]["id"].rsplit("_", 1)[1]), set()).add(message["data"]["symbol"])
    assert len(slots) >= 2 and all(s == PAIRS for s in list(slots.values())[:-1])
    assert all(t2 - t1 == INTERVAL * 1000 for t1, t2 in itertools.pairwise(sorted(slots)))
    assert len({m["producer"] for m in on_nats}) == 1  # only the lease holder
    first = on_nats[0]
    assert set(first) == {"schema", "type", "seq", "data", "timestamp", "producer"}
    assert set(first["data"]) >= {"symbol", "signal", "confidence", "timestamp", "model_type", "timeframe",
                                  "reasoning", "strategy_scores"}
    assert first["data"]["signal"] in ("long", "short", "neutral") and first["timestamp"].startswith("20")
    assert first["data"]["model_type"] == "indicator-engine"  # no LLM in this deployment
    received = [m for m in ws_messages if m.get("type") == "AISignalReceived"]
    assert delivered_once([m["data"]["id"] for m in received], ids)
    assert all(m["channel"] == "signals" and isinstance(m["data"]["seq"], int) for m in received)
    assert not [m for m in ws_messages if m.get("type") == "gap"]  # signals and analyses share one numbering
    stored = httpx.get(stack.url("traefik") + "/api/ai/storage/stats").json()
    assert {s["symbol"] for s in stored["symbol_breakdown"]} == PAIRS


@pytest.fixture(scope="module")
def trader(two_replicas) -> dict[str, str]:
    """Headers of a key that may analyse and give feedback."""
    return {"X-API-Key": create_key(two_replicas, name="trader", scopes="analyze,write")}


def test_without_an_llm_the_indicator_engine_decides_and_says_so(two_replicas, trader):
    api = two_replicas.url("traefik")
    body = httpx.post(api + "/api/ai/analyze", json={"symbol": "BTC", "strategy_context": {"risk_level": "no-llm"}},
                      headers=trader, timeout=30).json()
    assert body["decided_by"] == "indicator-engine" and body["signal"] == body["engine"]["signal"]
    assert body["llm"] == {"configured": False, "used": False, "model": None, "prompt_version": None,
                           "decision_id": None, "latency_ms": None, "reason": body["llm"]["reason"]}
    assert "no LLM is configured" in body["llm"]["reason"]
    info = httpx.get(api + "/api/ai/info").json()
    assert not info["llm"]["configured"] and info["model_version"].startswith("indicator engine")
    assert health(two_replicas, "ai")["components"]["llm"]["status"] == "skipped"


DAY = 86_400_000
CALL = {"buy": "long", "sell": "short", "hold": "neutral"}


def by_hand(stack, until: int, model: str | None = None) -> dict:
    """Spec 004's figures from the stored predictions, outcomes and feedback, by the documented rules."""
    window = {"timestamp": {"$gte": until - 30 * DAY, "$lte": until}}
    with pymongo.MongoClient(stack.url("mongo")) as client:
        db = client["dreammaker"]
        docs = [*db.ai_signals.find(window), *db.ai_analysis_results.find(window),
                *db.ai_analysis_archive.find(window)]
        feedback = {f["prediction_id"]: f["actual_outcome"]
                    for f in db.ai_feedback.find().sort([("received_at", 1), ("_id", 1)])}
    counts = {"TP": 0, "FP": 0, "TN": 0, "FN": 0}
    made, confidences, slots = 0, [], set()
    for doc in docs:
        name = doc["model"]["name"] if isinstance(doc["model"], dict) else doc["model"]
        if model is not None and name != model:
            continue
        if doc.get("status") == "not_judged" and doc["_id"] not in feedback:
            continue
        made += 1
        confidences.append(doc["confidence"])
        if doc.get("requested_by") == "runner":
            slots.add((doc["slot"], doc["symbol"]))
        call = CALL[doc["type"]]
        if doc["_id"] in feedback:
            right = feedback[doc["_id"]] == "PROFIT" if call != "neutral" else feedback[doc["_id"]] != "PROFIT"
        elif (doc.get("outcome") or {}).get("hit") is not None:
            right = doc["outcome"]["hit"]
        else:
            continue
        counts[("TN" if right else "FN") if call == "neutral" else ("TP" if right else "FP")] += 1
    tp, fp, tn, fn = counts["TP"], counts["FP"], counts["TN"], counts["FN"]
    labelled = tp + fp + tn + fn
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    times = sorted(slot for slot, _ in slots)
    expected = ((times[-1] - times[0]) // (INTERVAL * 1000) + 1) * len({s for _, s in slots}) if slots else 0
    return {"overall_accuracy": (tp + tn) / labelled if labelled else None, "precision": precision, "recall": recall,
            "f1_score": 2 * precision * recall / (precision + recall) if precision and recall else None,
            "predictions_made": made, "successful_predictions": tp + tn,
            "average_confidence": sum(confidences) / len(confidences) if confidences else None,
            "model_uptime": f"{len(slots) / expected * 100:.1f}%" if expected else None, "labelled": labelled,
            "counts": counts}


def assert_equal_by_hand(answer: dict, hand: dict) -> None:
    for name in ("overall_accuracy", "precision", "recall", "f1_score", "average_confidence"):
        assert answer[name] == (None if hand[name] is None else pytest.approx(hand[name], abs=2e-6)), name
    for name in ("predictions_made", "successful_predictions", "model_uptime"):
        assert answer[name] == hand[name], name
    counts = answer["counts"]
    assert (counts["true_positive"], counts["false_positive"], counts["true_negative"], counts["false_negative"]) == (
        hand["counts"]["TP"], hand["counts"]["FP"], hand["counts"]["TN"], hand["counts"]["FN"])
    assert counts["labelled"] == hand["labelled"]


def test_performance_equals_a_hand_computation_and_moves_with_outcomes_and_feedback(two_replicas, trader):
    with pymongo.MongoClient(two_replicas.url("mongo")) as client:
        check_performance(two_replicas, client["dreammaker"], trader)


def check_performance(stack, db, trader: dict[str, str]) -> None:
    api = stack.url("traefik") + "/api/ai/performance"
    # A runner analysis still open: the window ends at it, so it is pending until its outcome is recorded.
    newest = wait_for(lambda: db.ai_analysis_results.find_one({"status": "open", "requested_by": "runner"},
                                                               sort=[("timestamp", -1)]), 20)
    until = newest["timestamp"]
    before = httpx.get(api, params={"until": until}).json()
    assert before["window"]["end"] == until and before["counts"]["pending"] >= 1

    def settled():
        window = {"timestamp": {"$lte": until}, "status": "open"}
        return db.ai_signals.count_documents(window) + db.ai_analysis_results.count_documents(window) == 0

    wait_for(settled, 20)
    after = httpx.get(api, params={"until": until}).json()
    assert after["counts"]["from_outcomes"] > before["counts"]["from_outcomes"]
    assert after["counts"]["pending"] < before["counts"]["pending"]
    assert_equal_by_hand(after, by_hand(stack, until))
    assert after["last_updated"] and after["overall_accuracy"] is not None
    assert set(after["reasons"]) == {name for name in ("precision", "recall", "f1_score") if after[name] is None}
    # Feedback that contradicts a recorded outcome changes the figures, by the same rules.
    judged = db.ai_analysis_results.find_one({"timestamp": {"$lte": until}, "outcome.hit": {"$ne": None}})
    hit = judged["outcome"]["hit"]
    flip = ("LOSS" if hit else "PROFIT") if judged["type"] != "hold" else ("PROFIT" if hit else "LOSS")
    response = httpx.post(stack.url("traefik") + "/api/ai/feedback",
                          json={"signal_id": judged["_id"], "actual_outcome": flip}, headers=trader)
    assert response.status_code == 200, response.text
    changed = httpx.get(api, params={"until": until}).json()
    assert changed["counts"]["from_feedback"] == after["counts"]["from_feedback"] + 1
    assert changed["successful_predictions"] == after["successful_predictions"] + (-1 if hit else 1)
    assert_equal_by_hand(changed, by_hand(stack, until))
    # Per model, on request.
    grouped = httpx.get(api, params={"until": until, "by": "model"}).json()
    for group in grouped["breakdown"]:
        assert_equal_by_hand(group, by_hand(stack, until, model=group["key"]))
    assert {g["key"] for g in grouped["breakdown"]} == set(grouped["models"])


def test_performance_without_outcomes_is_null_with_the_reason(two_replicas):
    api = two_replicas.url("traefik") + "/api/ai/performance"
    body = httpx.get(api, params={"symbol": "SOL"}).json()  # nothing is made for SOL/USDT here
    assert body["predictions_made"] == 0 and body["successful_predictions"] == 0
    for name in ("overall_accuracy", "precision", "recall", "f1_score", "average_confidence", "model_uptime"):
        assert body[name] is None and body["reasons"][name], name
    first = httpx.get(api, params={"until": 1}).json()  # a window before anything was made
    assert first["overall_accuracy"] is None and "no prediction was made" in first["reasons"]["overall_accuracy"]


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
        state = SimpleNamespace(store=store, settings=AiSettings(), publish_lock=asyncio.Lock())
        generator = Generator(state, Publisher(bus, producer="test"))
        await generator.publish_pending()
        await store.signals.update_one({"_id": doc["_id"]}, {"$set": {"published": False}})  # crash before marking
        await generator.publish_pending()
        assert generator.publisher.published == 2
        kept = [orjson.loads(m.data).get("id") async for m in bus.replay("ai.signal.BTC-USDT")]
        assert kept.count(doc["_id"]) == 1
    finally:
        await store.signals.drop()
        await bus.close()
        await mongo.close()
