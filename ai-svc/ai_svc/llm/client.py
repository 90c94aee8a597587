"""The chat client: one OpenAI-compatible POST /chat/completions per decision, through the shared upstream
guard of the key it uses. Keys are tried in order (the primary, then the backups); a key answered with 429 is
paused for every replica for as long as the endpoint asked (the guard's pause, in Redis), one answered with
401 or 403 for AI_LLM_REFUSED_KEY_PAUSE_SECONDS, and the next key is tried at once. A paused key is not
called. Any other failure (the model is unknown, the server is down) ends the decision: another key would
not help. Keys never appear in logs or answers: they are `primary`, `backup-1` ..."""

import hashlib
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from dm_shared.adapter import reading
from dm_shared.breaker import CircuitBreaker
from dm_shared.budget import Budget
from dm_shared.errors import ApiError, UpstreamRateLimitedError, UpstreamRefusedError
from dm_shared.guard import Guard
from dm_shared.upstream import Upstream, UpstreamClient

from ai_svc.llm.answer import JSON_SCHEMA
from ai_svc.llm.pacer import Pacer
from ai_svc.settings import AiSettings

REFUSED = (401, 403)


@dataclass
class Attempt:
    """One key tried for one decision."""

    key: str
    status: int | None  # the HTTP status; None when no request was sent (the key is paused)
    code: str | None  # the error code, None on success
    latency_ms: float
    retry_after: float | None = None


@dataclass
class Reply:
    """What the endpoint answered for one decision, or why it did not."""

    content: str | None = None
    model: str | None = None
    tokens: dict[str, int] | None = None
    attempts: list[Attempt] = field(default_factory=list)
    latency_ms: float = 0.0
    error: str | None = None
    paused_for: float | None = None  # every key is paused: seconds until the first comes back

    @property
    def sent(self) -> bool:
        """Whether a request reached the endpoint (then it is a decision to log)."""
        return any(a.status is not None for a in self.attempts)

    def attempt_fields(self) -> list[dict[str, Any]]:
        return [asdict(a) for a in self.attempts]


@dataclass
class Key:
    label: str
    upstream: Upstream


def _guard_name(secret: str | None) -> str:
    # Per key, the same on every replica whatever the order of the keys: the pause is the key's.
    return "llm" if secret is None else "llm-" + hashlib.sha256(secret.encode()).hexdigest()[:10]


class ChatClient:
    """The configured endpoint, model and keys."""

    def __init__(self, http: UpstreamClient, settings: AiSettings, *, budget: Budget, redis: aioredis.Redis):
        self.http, self.settings, self.redis = http, settings, redis
        self.model = settings.llm_model
        self.base_url = (settings.llm_url or "").rstrip("/")
        secrets = [s.get_secret_value() for s in ([settings.llm_api_key] if settings.llm_api_key else [])]
        secrets += [s.get_secret_value() for s in settings.llm_backup_keys if s.get_secret_value()]
        labels = ["primary" if settings.llm_api_key else "backup-1"] + [f"backup-{i}" for i in range(
            1 if settings.llm_api_key else 2, len(secrets) + 1)]
        entries = list(zip(labels, secrets, strict=False)) or [("no key", None)]
        self.keys = [Key(label, Upstream(
            Guard(_guard_name(secret), budget=budget,
                  breaker=CircuitBreaker(_guard_name(secret), threshold=settings.breaker_threshold,
                                         cooldown=settings.breaker_cooldown)),
            self.base_url, headers={"Authorization": f"Bearer {secret}"} if secret else {},
            timeout=settings.llm_timeout)) for label, secret in entries]
        self.pacer = Pacer(redis, settings.llm_min_interval_seconds)
        self.calls = self.answered = 0
        self.last_error: str | None = None

    def body(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        """The request body of one decision."""
        body: dict[str, Any] = {"model": self.model, "messages": messages,
                                "temperature": self.settings.llm_temperature,
                                "max_tokens": self.settings.llm_max_tokens}
        kind = self.settings.llm_response_format
        if kind == "json_object":
            body["response_format"] = {"type": "json_object"}
        elif kind == "json_schema":
            body["response_format"] = {"type": "json_schema", "json_schema": JSON_SCHEMA}
        return body

    async def chat(self, messages: list[dict[str, str]]) -> Reply:
        """Ask for one completion, key after key as their answers require."""
        reply = Reply()
        started = time.perf_counter()
        body = self.body(messages)
        waits: list[float] = []
        for key in self.keys:
            sent = time.perf_counter()
            try:
                answer = await self.http.post_json(key.upstream, "/chat/completions", body)
            except UpstreamRateLimitedError as exc:
                paused = bool(exc.details.get("paused"))
                reply.attempts.append(Attempt(key.label, None if paused else exc.details.get("status", 429), exc.code,
                                              _ms(sent), exc.retry_after))
                waits.append(exc.retry_after or 0.0)
                continue
            except UpstreamRefusedError as exc:
                status = exc.details.get("status")
                reply.attempts.append(Attempt(key.label, status, exc.code, _ms(sent)))
                if status in REFUSED:
                    await key.upstream.guard.pause(self.settings.llm_refused_key_pause_seconds)
                    waits.append(self.settings.llm_refused_key_pause_seconds)
                    continue
                reply.error = f"{exc.code}: {exc.message}"
                break
            except ApiError as exc:
                reply.attempts.append(Attempt(key.label, exc.details.get("status"), exc.code, _ms(sent)))
                reply.error = f"{exc.code}: {exc.message}"
                break
            reply.attempts.append(Attempt(key.label, 200, None, _ms(sent)))
            try:
                with reading("llm", "chat completion"):
                    reply.content = answer["choices"][0]["message"]["content"]
                    reply.model = answer.get("model")
                    usage = answer.get("usage") or {}
                    reply.tokens = {name: int(usage[name]) for name in ("prompt_tokens", "completion_tokens",
                                                                         "total_tokens") if name in usage}
            except ApiError as exc:
                reply.error = f"{exc.code}: {exc.message}"
            break
        else:
            reply.paused_for = round(min(waits), 3) if waits else None
            reply.error = (f"every key ({len(self.keys)}) is rate-limited or refused; the first comes back in "
                           f"{reply.paused_for} s")
        reply.latency_ms = _ms(started)
        if reply.sent:
            self.calls += 1
            self.answered += reply.content is not None
        self.last_error = reply.error
        return reply

    async def status(self) -> dict[str, Any]:
        """For /health and /ai/info: the endpoint, the model and each key's pause (no key is shown)."""
        keys = []
        for key in self.keys:
            try:
                left = await self.redis.pttl(f"dm:pause:{key.upstream.guard.name}")
            except (TimeoutError, RedisError, OSError):
                left = None
            keys.append({"key": key.label, "paused_for": round(left / 1000, 1) if left and left > 0 else 0.0,
                         "breaker": key.upstream.guard.breaker.state.value})
        return {"model": self.model, "url": public_url(self.base_url), "keys": keys, "calls": self.calls,
                "answered": self.answered, "last_error": self.last_error,
                "min_interval_seconds": self.settings.llm_min_interval_seconds,
                "response_format": self.settings.llm_response_format}


def public_url(url: str) -> str:
    """`url` without any user or password in it."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname
                       else parts.netloc, parts.path, "", ""))


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
