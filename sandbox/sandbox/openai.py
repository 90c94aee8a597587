"""An OpenAI-compatible chat endpoint (api.openai.com/v1, OpenRouter, vLLM, llama.cpp, Ollama): POST
/v1/chat/completions in the recorded wire format, and GET /v1/models.

A request that asks for JSON (`response_format` of type `json_object` or `json_schema`), which is how ai-svc
asks for an analysis, is answered with ANALYSIS_ANSWER, a fixed JSON text the sandbox wrote (it reads no
input); any other request gets the recorded answer's content. Keys are optional, as on a local server; a
key can be put in a state on command (the control API): 401 with the recorded invalid-key body, or 429 with
the recorded rate-limit body and a Retry-After.
"""

import itertools
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response

from sandbox.fixtures import load_json
from sandbox.history import History
from sandbox.responses import json_response

COMPLETION = "openai/chat_completion_gpt-4o-mini_2026-01-28.json"
INVALID_KEY = "openai/error_401_invalid_api_key_chat_completions.json"
MODEL_NOT_FOUND = "openai/error_404_model_not_found_chat_completions.json"
RATE_LIMITED = "openai/error_429_openrouter_rate_limited_chat_completions.json"
# The model id of the request, and the snapshot it resolved to in the recording.
MODELS = ("gpt-4o-mini", "gpt-4o-mini-2024-07-18")
JSON_FORMATS = ("json_object", "json_schema")
# The sandbox's own answer to an analysis request (documented in sandbox/README.md).
ANALYSIS_ANSWER = {
    "signal": "Long",
    "confidence": 0.64,
    "reasoning": "Sandbox LLM: a fixed answer to every JSON-mode request; it reads none of the prompt.",
}
NO_KEY = "(no key)"
# Token counts: the recording's are for its own prompt; the sandbox counts a token per 4 characters.
CHARS_PER_TOKEN = 4


@dataclass
class KeyState:
    """What the endpoint answers a key with until the state is lifted."""

    status: int
    retry_after: int


class Keys:
    """Per-key states set on command, and how many requests each key made."""

    def __init__(self) -> None:
        self.states: dict[str, KeyState] = {}
        self.requests: defaultdict[str, int] = defaultdict(int)

    def set(self, key: str, status: int, retry_after: int) -> None:
        self.states[key] = KeyState(status, retry_after)

    def lift(self) -> int:
        """Lift every state; returns how many there were."""
        count = len(self.states)
        self.states.clear()
        return count

    def snapshot(self) -> dict[str, Any]:
        return {"states": {key: {"status": s.status, "retry_after": s.retry_after} for key, s in self.states.items()},
                "requests": dict(self.requests)}


def _bearer(request: Request) -> str:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else NO_KEY


def _invalid(message: str, param: str | None) -> Response:
    # OpenAI's error shape (as in the recorded 401 and 404), for requests the recordings do not cover.
    return json_response({"error": {"message": message, "type": "invalid_request_error", "param": param,
                                    "code": None}}, status_code=400)


def _tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _content(body: dict[str, Any]) -> str:
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") in JSON_FORMATS:
        return orjson.dumps(ANALYSIS_ANSWER).decode()
    return load_json(COMPLETION)["choices"][0]["message"]["content"]


def completion(body: dict[str, Any], number: int) -> dict[str, Any]:
    """The recorded completion, answering `body`: its content, a fresh id and time, and token counts."""
    recorded = load_json(COMPLETION)
    content = _content(body)
    prompt = "".join(str(m.get("content") or "") for m in body["messages"] if isinstance(m, dict))
    choice = recorded["choices"][0]
    usage = recorded["usage"]
    prompt_tokens, completion_tokens = _tokens(prompt), _tokens(content)
    return {**recorded, "id": f"chatcmpl-sandbox{number:08d}", "created": int(time.time()),
            "choices": [{**choice, "message": {**choice["message"], "content": content}}],
            "usage": {**usage, "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


def create_app(history: History, keys: Keys | None = None) -> FastAPI:
    """The OpenAI-compatible app; `keys` holds the per-key states the control API sets."""
    keys = keys if keys is not None else Keys()
    numbers = itertools.count(1)
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/v1/models")
    async def models() -> Response:
        created = load_json(COMPLETION)["created"]
        return json_response({"object": "list", "data": [{"id": name, "object": "model", "created": created,
                                                          "owned_by": "system"} for name in MODELS]})

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        key = _bearer(request)
        keys.requests[key] += 1
        state = keys.states.get(key)
        if state is not None and state.status == 429:
            return json_response(load_json(RATE_LIMITED), status_code=429,
                                 headers={"Retry-After": str(state.retry_after)})
        if state is not None:
            return json_response(load_json(INVALID_KEY), status_code=state.status)
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _invalid("We could not parse the JSON body of your request.", None)
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            return _invalid("you must provide a model parameter", "model")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return _invalid("messages must be a non-empty array", "messages")
        if body.get("stream"):
            return _invalid("the sandbox does not stream; send stream: false", "stream")
        if body["model"] not in MODELS:
            recorded = load_json(MODEL_NOT_FOUND)
            message = recorded["error"]["message"].replace("does-not-exist", body["model"][:100])
            return json_response({"error": {**recorded["error"], "message": message}}, status_code=404)
        return json_response(completion(body, next(numbers)))

    return app
