"""Spec 004's AI trading endpoints through traefik on the sandbox: every value traced to the candles the
sandbox serves (or the recorded ones a request sends), and the LLM path against the sandbox's
OpenAI-compatible endpoint: its answer used and logged, a rate-limited or refused key passed over, and the
indicator engine deciding, labelled, when every key is limited or the answer does not parse. Analyses and
feedback are made with a key holding the `analyze` and `write` scopes, admin routes with an admin key."""

import csv
import json
import math
import uuid

import numpy as np
import pytest
import talib

from helpers import SANDBOX_DATA, SUITE_ENV, create_key, forget_rate_limits, served

HOUR = 3_600_000
SANDBOX_ANSWER = {"signal": "Long", "confidence": 0.64,
                  "reasoning": "Sandbox LLM: a fixed answer to every JSON-mode request; it reads none of the prompt."}
STRATEGY_NAMES = ["RSI Strategy", "MACD Strategy", "Bollinger Bands Strategy", "Volume Strategy", "EMA Trend Strategy"]
PRIMARY, BACKUP = SUITE_ENV["AI_LLM_API_KEY"], SUITE_ENV["AI_LLM_BACKUP_KEYS"]


def history(symbol: str) -> list[dict[str, float]]:
    """The recorded hourly candles, in spec 004's candle form."""
    with open(SANDBOX_DATA / "history" / f"{symbol}_1h.csv") as handle:
        return [{"timestamp": int(r["t"]), "open": float(r["o"]), "high": float(r["h"]), "low": float(r["l"]),
                 "close": float(r["c"]), "volume": float(r["v"])} for r in csv.DictReader(handle)]


BTC = history("BTCUSDT")


def window(start: int, count: int, symbol_rows: list[dict[str, float]] = BTC) -> dict[str, list[dict[str, float]]]:
    return {"1h": symbol_rows[start:start + count]}


def fresh_window(count: int = 200) -> dict[str, list[dict[str, float]]]:
    """A recorded window no other analysis of this session sends (so it is never served from the store)."""
    return window(1000 + 7 * next(_windows), count)


_windows = iter(range(10_000))


def column(rows: list[dict[str, float]], name: str) -> np.ndarray:
    return np.array([r[name] for r in rows], dtype=np.float64)


@pytest.fixture(scope="module")
def keys(suite) -> dict[str, dict[str, str]]:
    """Headers of a trader's key (analyze, write) and an operator's (admin)."""
    return {"trader": {"X-API-Key": create_key(suite, name="trader", scopes="analyze,write")},
            "admin": {"X-API-Key": create_key(suite, name="ai-admin", scopes="admin")}}


@pytest.fixture
def trader(keys) -> dict[str, str]:
    return keys["trader"]


@pytest.fixture
def admin(keys) -> dict[str, str]:
    return keys["admin"]


def analyze(api, headers: dict[str, str], **body) -> dict:
    response = api.post("/api/ai/analyze", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def decision(api, admin: dict[str, str], decision_id: str) -> dict:
    decisions = api.get("/api/ai/decisions", params={"id": decision_id}, headers=admin).json()["decisions"]
    assert len(decisions) == 1
    return decisions[0]


def test_info_and_strategies_say_what_runs(api):
    info = api.get("/api/ai/info").json()
    assert info["strategies"] == STRATEGY_NAMES
    assert info["supported_symbols"] == ["BTC/USDT", "ETH/USDT"] and "1h" in info["supported_timeframes"]
    llm = info["llm"]
    assert llm["configured"] and llm["model"] == "gpt-4o-mini" and llm["url"].endswith("/v1")
    assert [k["key"] for k in llm["keys"]] == ["primary", "backup-1"]
    assert info["model_version"].startswith("gpt-4o-mini") and info["last_trained"] is None and info["trained_on"]
    strategies = api.get("/api/ai/strategies").json()
    assert strategies["strategies"] == STRATEGY_NAMES
    assert {d["name"]: d["style"] for d in strategies["details"]}["RSI Strategy"] == "mean_reversion"


def test_an_analysis_of_recorded_candles_is_traced_to_them_and_decided_by_the_llm(api, trader, admin):
    sent = fresh_window(200)
    body = analyze(api, trader, symbol="BTCUSDT", timeframe_data=sent,
                   strategy_context={"selected_strategies": ["RSI Strategy", "Bollinger Bands Strategy"]})
    rows = sent["1h"]
    close, high, low = column(rows, "close"), column(rows, "high"), column(rows, "low")
    price = close[-1]
    assert body["symbol"] == "BTC/USDT" and body["source"] == "client" and body["candles"] == 200
    assert body["market_analysis"]["price"] == price and body["as_of"] == rows[-1]["timestamp"] + HOUR
    rsi = talib.RSI(close, timeperiod=14)[-1]
    upper, _, lower = (band[-1] for band in talib.BBANDS(close, timeperiod=20, nbdevup=2, nbdevdn=2))
    percent_b = (price - lower) / (upper - lower)
    assert body["strategy_scores"] == {
        "RSI Strategy": pytest.approx(round((np.clip((50 - rsi) / 20, -1, 1) + 1) / 2, 4), abs=1e-4),
        "Bollinger Bands Strategy": pytest.approx(round((np.clip((0.5 - percent_b) * 2, -1, 1) + 1) / 2, 4),
                                                  abs=1e-4)}
    assert body["indicators"]["rsi_14"] == pytest.approx(rsi)
    market = body["market_analysis"]
    assert all(level < price for level in market["support_levels"])
    assert all(level > price for level in market["resistance_levels"])
    adx = talib.ADX(high, low, close, timeperiod=14)[-1]
    assert market["trend_strength"] == pytest.approx(min(1, adx / 50), abs=1e-4)
    # The LLM (the sandbox's fixed JSON answer) decided; the engine's own call is beside it.
    assert body["decided_by"] == "llm" and body["model"] == "llm:gpt-4o-mini"
    assert {k: body[k] for k in SANDBOX_ANSWER} == SANDBOX_ANSWER
    assert body["engine"]["signal"] in ("Long", "Short", "Neutral") and body["engine"]["reasoning"]
    atr = talib.ATR(high, low, close, timeperiod=14)[-1]
    risk = body["risk_assessment"]
    assert risk["stop_loss_suggestion"] == pytest.approx(price - atr)
    assert risk["take_profit_suggestion"] == pytest.approx(price + 1.5 * atr)
    assert body["forecast"]["steps"] == 4  # 200 hourly candles are enough for the forecast model
    assert body["missing"]["sentiment"]["code"] == "NOT_LIVE" and not body["cached"]
    logged = decision(api, admin, body["llm"]["decision_id"])
    assert logged["analysis_id"] == body["id"] and logged["symbol"] == "BTC/USDT" and logged["used"]
    assert logged["prompt"]["version"] == body["llm"]["prompt_version"] and len(logged["input_digest"]) == 64
    assert logged["parsed"] and logged["verdict"] == SANDBOX_ANSWER
    assert [a["status"] for a in logged["attempts"]] == [200] and logged["attempts"][0]["key"] == "primary"
    assert logged["tokens"]["total_tokens"] == logged["tokens"]["prompt_tokens"] + logged["tokens"][
        "completion_tokens"] and logged["latency_ms"] > 0


def test_a_repeated_analysis_within_five_minutes_is_served_from_the_store_labelled(api, suite, trader):
    context = {"risk_level": f"test-{uuid.uuid4().hex[:8]}"}  # this test's own input
    first = analyze(api, trader, symbol="ETH", strategy_context=context)
    klines = served(suite, "binance", "/api/v3/klines", symbol="ETHUSDT", interval="1h", limit=3)
    assert first["source"] == "binance" and not first["cached"] and first["age_ms"] == 0
    assert first["market_analysis"]["price"] == float(klines[-2][4])  # the newest closed candle
    assert set(first["timeframes"]) == {"1h", "4h"}
    again = analyze(api, trader, symbol="ETHUSDT", strategy_context=context)
    assert again["cached"] and again["provenance"]["cached"] and again["id"] == first["id"]
    assert 0 < again["age_ms"] < 300_000 and again["age_ms"] == again["provenance"]["age_ms"]
    assert {k: again[k] for k in ("signal", "confidence", "reasoning", "strategy_scores")} == {
        k: first[k] for k in ("signal", "confidence", "reasoning", "strategy_scores")}


def _first_window(change: callable, count: int = 48) -> int:
    closes = column(BTC, "close")
    return next(i for i in range(2000, len(BTC) - count) if change(closes[i + count - 1] / closes[i] - 1))


@pytest.mark.parametrize("kind, rule", [("Trending Up", lambda x: x > 0.06), ("Trending Down", lambda x: x < -0.06),
                                        ("Sideways", lambda x: abs(x) < 0.002)])
def test_the_market_condition_of_a_recorded_window_follows_its_measured_change(api, kind, rule):
    start = _first_window(rule)
    sent = window(start, 48)
    response = api.post("/api/ai/market-condition", json={"symbol": "BTC", "timeframe_data": sent})
    assert response.status_code == 200, response.text
    body = response.json()
    close = column(sent["1h"], "close")
    change = close[-1] / close[0] - 1
    assert body["condition_type"] == kind
    assert body["measurements"]["change_pct"] == pytest.approx(change * 100, abs=1e-5)
    returns = np.diff(np.log(close))
    z = math.log(close[-1] / close[0]) / (returns.std(ddof=1) * math.sqrt(len(returns)))
    expected = math.erf(abs(z) / math.sqrt(2)) if kind != "Sideways" else 1 - abs(change) / 0.05
    assert body["confidence"] == pytest.approx(expected, abs=1e-4)
    styles = {"Trending Up": {"MACD Strategy", "EMA Trend Strategy", "Volume Strategy"},
              "Trending Down": {"MACD Strategy", "EMA Trend Strategy", "Volume Strategy"},
              "Sideways": {"RSI Strategy", "Bollinger Bands Strategy"}}[kind]
    assert styles <= set(body["recommended_strategies"])
    assert body["market_phase"] in ("Active Trading", "Consolidation", "Breakout") and body["characteristics"]


def test_the_market_condition_of_a_symbol_reads_the_sandbox_candles(api, suite):
    body = api.post("/api/ai/market-condition", json={"symbol": "BTC/USDT"}).json()
    klines = served(suite, "binance", "/api/v3/klines", symbol="BTCUSDT", interval="1h", limit=50)
    closed = [float(k[4]) for k in klines[:-1]][-48:]  # the last is in progress
    assert body["source"] == "binance" and body["measurements"]["candles"] == 48
    assert body["measurements"]["change_pct"] == pytest.approx((closed[-1] / closed[0] - 1) * 100, abs=1e-5)


def _rsi_return(close: np.ndarray, start: int) -> float:
    stance = np.nan_to_num(np.clip((50 - talib.RSI(close, timeperiod=14)) / 20, -1, 1))
    return float((stance[start:-1] * (close[start + 1:] / close[start:-1] - 1)).sum() * 100)


def test_strategy_recommendations_rank_by_the_returns_measured_on_the_sandbox_candles(api, suite):
    body = api.post("/api/ai/strategy-recommendations", json={"symbol": "BTC"}).json()
    ranked = body["recommendations"]
    assert [r["strategy_name"] for r in ranked] and {r["strategy_name"] for r in ranked} == set(STRATEGY_NAMES)
    returns = [r["measured"]["return_pct"] for r in ranked]
    assert returns == sorted(returns, reverse=True) and body["window"]["steps"] == 500
    assert all(r["recommended_config"]["enabled"] == (r["measured"]["return_pct"] > 0) for r in ranked)
    # By hand: the RSI strategy over the same 561 closed candles (60 to warm up, then 500 steps).
    klines = served(suite, "binance", "/api/v3/klines", symbol="BTCUSDT", interval="1h", limit=1000)
    closed = [k for k in klines if k[0] + HOUR <= body["window"]["end"]][-561:]
    close = np.array([float(k[4]) for k in closed])
    rsi = next(r for r in ranked if r["strategy_name"] == "RSI Strategy")
    assert rsi["measured"]["return_pct"] == pytest.approx(_rsi_return(close, 60), abs=1e-5)
    assert body["window"]["end"] == closed[-1][0] + HOUR


def test_recommendations_on_recorded_candles_rank_by_their_measured_returns(api):
    sent = window(9000, 300)
    body = api.post("/api/ai/strategy-recommendations",
                    json={"symbol": "BTC", "timeframe_data": sent,
                          "available_strategies": ["RSI Strategy", "MACD Strategy", "Volume Strategy"]}).json()
    ranked = body["recommendations"]
    assert {r["strategy_name"] for r in ranked} == {"RSI Strategy", "MACD Strategy", "Volume Strategy"}
    returns = [r["measured"]["return_pct"] for r in ranked]
    assert returns == sorted(returns, reverse=True) and body["source"] == "client"
    close = column(sent["1h"], "close")
    start = max(60, len(close) - 1 - 500)
    rsi = next(r for r in ranked if r["strategy_name"] == "RSI Strategy")
    assert rsi["measured"]["return_pct"] == pytest.approx(_rsi_return(close, start), abs=1e-5)
    assert body["window"]["steps"] == len(close) - 1 - start


def test_feedback_is_linked_to_its_prediction_and_refused_for_an_unknown_or_mismatched_one(api, trader):
    made = analyze(api, trader, symbol="BTC", timeframe_data=fresh_window(60))
    before = api.get("/api/ai/storage/stats").json()["feedback_count"]
    ok = api.post("/api/ai/feedback", json={"signal_id": made["id"], "symbol": "BTCUSDT",
                                            "predicted_signal": made["signal"], "actual_outcome": "LOSS",
                                            "profit_loss": -12.5, "feedback_notes": "stopped out"}, headers=trader)
    assert ok.status_code == 200, ok.text
    assert ok.json()["prediction"] == {"kind": "analysis", "symbol": "BTC/USDT", "signal": made["signal"].lower(),
                                       "made_at": made["analysed_at"]}
    assert api.get("/api/ai/storage/stats").json()["feedback_count"] == before + 1
    unknown = api.post("/api/ai/feedback", json={"signal_id": "sig_nothing_like_it", "actual_outcome": "PROFIT"},
                       headers=trader)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "PREDICTION_NOT_FOUND"
    other = api.post("/api/ai/feedback", json={"signal_id": made["id"], "symbol": "ETH", "actual_outcome": "PROFIT"},
                     headers=trader)
    assert other.status_code == 409 and other.json()["error"]["code"] == "FEEDBACK_MISMATCH"


def test_storage_stats_count_analyses_and_clear_archives_them_saying_how_many(api, trader, admin):
    made = analyze(api, trader, symbol="BTC", timeframe_data=fresh_window(60))
    stats = api.get("/api/ai/storage/stats").json()
    assert stats["collection_name"] == "ai_analysis_results" and stats["clear_mode"] == "archive"
    btc = next(s for s in stats["symbol_breakdown"] if s["symbol"] == "BTC/USDT")
    assert btc["analysis_count"] >= 1 and btc["latest_analysis_ms"] >= made["analysed_at"]
    assert stats["total_analyses"] == sum(s["analysis_count"] for s in stats["symbol_breakdown"])
    cleared = api.post("/api/ai/storage/clear", headers=admin).json()
    assert cleared["mode"] == "archive" and cleared["cleared_analyses"] >= stats["total_analyses"]
    after = api.get("/api/ai/storage/stats").json()
    assert after["archived_analyses"] == stats["archived_analyses"] + cleared["cleared_analyses"]
    assert after["total_analyses"] < stats["total_analyses"]
    # An archived analysis is still the prediction its feedback is about.
    feedback = api.post("/api/ai/feedback", json={"signal_id": made["id"], "actual_outcome": "NEUTRAL"},
                        headers=trader)
    assert feedback.status_code == 200 and feedback.json()["prediction"]["kind"] == "analysis"


def test_editing_the_prompt_changes_the_version_of_the_next_decision(api, trader, admin):
    before = api.get("/api/ai/prompt", headers=admin).json()
    assert set(before["placeholders"]) >= {"symbol", "indicators", "strategy_scores", "engine"}
    edited = api.put("/api/ai/prompt", json={"system": before["system"] + " Be brief.",
                                             "user": "Pair $symbol at $price; engine: $engine. Answer in JSON.",
                                             "note": "shorter user part"}, headers=admin)
    assert edited.status_code == 200, edited.text
    version = edited.json()["version"]
    assert version > before["version"] and edited.json()["versions"][0]["version"] == version
    body = analyze(api, trader, symbol="BTC", timeframe_data=fresh_window(60))
    assert body["llm"]["prompt_version"] == version
    logged = decision(api, admin, body["llm"]["decision_id"])
    assert logged["prompt"]["version"] == version and logged["prompt"]["digest"] == edited.json()["digest"]
    assert api.get("/api/ai/prompt", headers=admin).json()["version"] == version


def test_a_rate_limited_or_refused_first_key_moves_to_the_backup_key(api, sandbox, suite, trader, admin):
    sandbox.http.post("/_sandbox/openai/keys", json={"key": PRIMARY, "status": 429, "retry_after": 30})
    body = analyze(api, trader, symbol="BTC", timeframe_data=fresh_window(60))
    assert body["decided_by"] == "llm" and body["llm"]["used"]
    attempts = decision(api, admin, body["llm"]["decision_id"])["attempts"]
    assert [(a["key"], a["code"]) for a in attempts] == [("primary", "UPSTREAM_RATE_LIMITED"), ("backup-1", None)]
    assert attempts[0]["retry_after"] == pytest.approx(30, abs=1)
    # The primary key is paused for every replica: the next decision does not call it at all.
    calls = sandbox.http.get("/_sandbox/openai/keys").json()["requests"]
    body = analyze(api, trader, symbol="BTC", timeframe_data=fresh_window(60))
    attempts = decision(api, admin, body["llm"]["decision_id"])["attempts"]
    assert attempts[0]["key"] == "primary" and attempts[0]["status"] is None and attempts[1]["status"] == 200
    assert sandbox.http.get("/_sandbox/openai/keys").json()["requests"][PRIMARY] == calls[PRIMARY]
    # A refused key (401) is passed over the same way.
    sandbox.clear()
    forget_rate_limits(suite)
    sandbox.http.post("/_sandbox/openai/keys", json={"key": PRIMARY, "status": 401})
    body = analyze(api, trader, symbol="BTC", timeframe_data=fresh_window(60))
    attempts = decision(api, admin, body["llm"]["decision_id"])["attempts"]
    assert [(a["key"], a["status"]) for a in attempts] == [("primary", 401), ("backup-1", 200)]
    assert body["decided_by"] == "llm"


def _engine_decided(body: dict) -> None:
    assert body["decided_by"] == "indicator-engine" and body["model"] == "indicator-engine"
    assert body["signal"] == body["engine"]["signal"] and body["confidence"] == body["engine"]["confidence"]
    assert body["reasoning"] == "; ".join(body["engine"]["reasoning"])
    assert not body["llm"]["used"] and body["llm"]["reason"]


def test_with_every_key_limited_the_indicator_engine_decides_labelled(api, sandbox, trader, admin):
    for key in (PRIMARY, BACKUP):
        sandbox.http.post("/_sandbox/openai/keys", json={"key": key, "status": 429, "retry_after": 20})
    body = analyze(api, trader, symbol="BTC", timeframe_data=fresh_window(60))
    _engine_decided(body)
    assert "rate-limited" in body["llm"]["reason"]
    logged = decision(api, admin, body["llm"]["decision_id"])
    assert [a["status"] for a in logged["attempts"]] == [429, 429] and not logged["used"]
    info = api.get("/api/ai/info").json()["llm"]
    assert all(k["paused_for"] > 0 for k in info["keys"])  # paused for every replica, in Redis


def test_an_answer_that_does_not_parse_falls_back_to_the_indicator_engine_labelled(api, sandbox, trader, admin):
    recorded = (SANDBOX_DATA / "openai" / "chat_completion_gpt-4o-mini_2026-01-28.json").read_text()
    sandbox.fault("openai", "status", path="/v1/chat/completions", status=200, body=json.loads(recorded), times=1)
    body = analyze(api, trader, symbol="BTC", timeframe_data=fresh_window(60))
    _engine_decided(body)
    assert "not JSON" in body["llm"]["reason"]
    logged = decision(api, admin, body["llm"]["decision_id"])
    assert logged["answer"] == "positive" and not logged["parsed"] and not logged["used"]


BAD_ANALYSES = [
    ({"symbol": "BTC", "timeframe_data": {"1h": []}}, 400, "INSUFFICIENT_CANDLES"),
    ({"symbol": "BTC", "timeframe_data": window(100, 20)}, 400, "INSUFFICIENT_CANDLES"),
    ({"symbol": "BTC", "timeframe_data": {"1h": [{**BTC[100], "high": BTC[100]["low"] - 1}, *BTC[101:160]]}}, 400,
     "INVALID_CANDLES"),
    ({"symbol": "BTC", "strategy_context": {"selected_strategies": ["Astrology Strategy"]}}, 400, "UNKNOWN_STRATEGY"),
    ({"symbol": "NOPE/USDT"}, 404, "INVALID_SYMBOL"),
    ({"symbol": "BTC", "timeframe_data": {"7m": BTC[:50]}}, 422, "VALIDATION_ERROR"),
    ({"symbol": "BTC", "timeframe_data": {"1h": [{**BTC[0], "close": -1}]}}, 422, "VALIDATION_ERROR"),
    ({"symbol": ""}, 422, "VALIDATION_ERROR"),
    ({"timeframe_data": window(0, 50)}, 422, "VALIDATION_ERROR"),
]


@pytest.mark.parametrize("body, status, code", BAD_ANALYSES, ids=[c for _, _, c in BAD_ANALYSES])
def test_bad_analyses_are_4xx_envelopes(api, trader, body, status, code):
    response = api.post("/api/ai/analyze", json=body, headers=trader)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_bad_feedback_and_performance_queries_are_4xx(api, trader, admin):
    for body in ({"signal_id": "x", "actual_outcome": "WIN"}, {"actual_outcome": "PROFIT"},
                 {"signal_id": "", "actual_outcome": "PROFIT"},
                 {"signal_id": "x", "actual_outcome": "PROFIT", "timestamp": False},
                 {"signal_id": "x", "actual_outcome": "PROFIT", "confidence_was_accurate": 1},
                 {"signal_id": "x", "actual_outcome": "PROFIT", "timestamp": 10**30}):  # past 64 bits: echoed as text
        response = api.post("/api/ai/feedback", json=body, headers=trader)
        assert response.status_code == 422 and response.json()["error"]["code"] == "VALIDATION_ERROR", body
    for params in ({"window_days": 0}, {"window_days": 366}, {"by": "colour"}, {"symbol": "NOPE"}):
        response = api.get("/api/ai/performance", params=params)
        assert 400 <= response.status_code < 500 and response.json()["success"] is False, params
    assert api.put("/api/ai/prompt", json={"system": "", "user": "x"}, headers=admin).status_code == 422
    assert api.get("/api/ai/analyze", headers=trader).status_code == 405
