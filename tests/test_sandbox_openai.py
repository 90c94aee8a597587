"""The sandbox's OpenAI-compatible chat endpoint answers in the recorded wire format: the recorded completion
(with the fixed analysis JSON for a JSON-mode request), and the recorded 401, 404 and 429 bodies."""

import json
import math

import httpx
import pytest

from devstack.catalogue import sandbox_url

from helpers import SANDBOX_DATA


def recorded(name: str) -> dict:
    return json.loads((SANDBOX_DATA / "openai" / name).read_text())


COMPLETION = recorded("chat_completion_gpt-4o-mini_2026-01-28.json")
ASK = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "Answer in JSON."},
                                            {"role": "user", "content": "BTC/USDT?"}]}


@pytest.fixture
def chat(suite, sandbox):
    with httpx.Client(base_url=sandbox_url(suite, "openai") + "/v1", timeout=10) as client:
        yield client


def test_a_completion_is_the_recorded_one_with_the_fixed_analysis_for_json_mode(chat):
    plain = chat.post("/chat/completions", json=ASK, headers={"Authorization": "Bearer sk-test-plain"}).json()
    assert plain["choices"][0]["message"]["content"] == COMPLETION["choices"][0]["message"]["content"]
    for name in ("object", "model", "system_fingerprint", "service_tier"):
        assert plain[name] == COMPLETION[name]
    assert plain["id"].startswith("chatcmpl-sandbox")
    usage = plain["usage"]
    assert usage["prompt_tokens"] == math.ceil(len("Answer in JSON.BTC/USDT?") / 4)  # one per 4 characters
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    structured = chat.post("/chat/completions", json={**ASK, "response_format": {"type": "json_object"}}).json()
    assert json.loads(structured["choices"][0]["message"]["content"]) == {
        "signal": "Long", "confidence": 0.64,
        "reasoning": "Sandbox LLM: a fixed answer to every JSON-mode request; it reads none of the prompt."}
    assert chat.get("/models").json()["data"][0]["id"] == "gpt-4o-mini"


def test_errors_are_the_recorded_bodies_and_a_key_is_limited_on_command(chat, sandbox):
    missing = chat.post("/chat/completions", json={**ASK, "model": "gpt-99"})
    assert missing.status_code == 404
    assert missing.json()["error"] == {**recorded("error_404_model_not_found_chat_completions.json")["error"],
                                       "message": "The model `gpt-99` does not exist or you do not have access to it."}
    sandbox.http.post("/_sandbox/openai/keys", json={"key": "sk-limited", "status": 429, "retry_after": 12})
    sandbox.http.post("/_sandbox/openai/keys", json={"key": "sk-revoked", "status": 401})
    limited = chat.post("/chat/completions", json=ASK, headers={"Authorization": "Bearer sk-limited"})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "12"
    assert limited.json() == recorded("error_429_openrouter_rate_limited_chat_completions.json")
    revoked = chat.post("/chat/completions", json=ASK, headers={"Authorization": "Bearer sk-revoked"})
    assert revoked.status_code == 401 and revoked.json() == recorded("error_401_invalid_api_key_chat_completions.json")
    other = chat.post("/chat/completions", json=ASK, headers={"Authorization": "Bearer sk-other"})
    assert other.status_code == 200  # only the keys put in a state answer so
    states = sandbox.http.get("/_sandbox/openai/keys").json()
    assert states["requests"]["sk-limited"] == 1 and states["states"]["sk-revoked"]["status"] == 401
    sandbox.clear()  # lifting faults lifts key states
    assert chat.post("/chat/completions", json=ASK, headers={"Authorization": "Bearer sk-limited"}).status_code == 200
    for body in ({"messages": ASK["messages"]}, {"model": "gpt-4o-mini", "messages": []}, {**ASK, "stream": True}):
        bad = chat.post("/chat/completions", json=body)
        assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
