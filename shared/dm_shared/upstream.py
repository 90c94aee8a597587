"""The client every service uses to call upstream HTTP APIs.

One pooled httpx client per process; per upstream a base URL, headers, a timeout and a circuit
breaker. Idempotent GETs are retried once on connection failures and 502/503/504 (tenacity, with
jittered backoff); timeouts are not retried, because the fallback chain is the faster remedy. Every
httpx failure is translated here, once, into the suite's UpstreamError tree.
"""

import asyncio
import email.utils
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from dm_shared.breaker import CircuitBreaker
from dm_shared.budget import Budget
from dm_shared.errors import (
    UpstreamBadResponseError,
    UpstreamBudgetError,
    UpstreamError,
    UpstreamRateLimitedError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from dm_shared.metrics import UPSTREAM_CALLS, UPSTREAM_LATENCY

_RETRYABLE_STATUS = {502, 503, 504}


@dataclass
class Upstream:
    """One upstream API: where it is and how to call it."""

    name: str
    base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 5.0
    retries: int = 1
    breaker: CircuitBreaker | None = None

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.breaker = self.breaker or CircuitBreaker(self.name)


class _Retryable(Exception):
    def __init__(self, error: UpstreamError):
        self.error = error


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


# How long an upstream is paused after a 429/418 that names no Retry-After.
DEFAULT_PAUSE_SECONDS = 60.0


class UpstreamClient:
    """Pooled HTTP access to upstream APIs with timeouts, bounded retries, a breaker per upstream and,
    when given, the shared rate budget."""

    def __init__(self, *, budget: Budget | None = None, max_connections: int = 100,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.budget = budget
        self._http = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            transport=transport, follow_redirects=False,
            headers={"User-Agent": "dreammaker-crypto-api/0.1", "Accept": "application/json"},
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def get_json(self, upstream: Upstream, path: str, params: dict[str, Any] | None = None,
                       cost: float = 1.0) -> Any:
        """GET `path` on `upstream` and return the decoded JSON, or raise an UpstreamError."""
        breaker = upstream.breaker
        try:
            breaker.check()
            if self.budget is not None:
                await self.budget.take(upstream.name, cost)
        except (UpstreamUnavailableError, UpstreamRateLimitedError, UpstreamBudgetError) as exc:
            UPSTREAM_CALLS.labels(upstream.name, exc.code.lower()).inc()
            raise
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(1 + upstream.retries), wait=wait_random_exponential(0.05, 0.5),
                retry=retry_if_exception(lambda exc: isinstance(exc, _Retryable)), reraise=True,
            ):
                with attempt:
                    result = await self._get_once(upstream, path, params)
        except _Retryable as exc:
            breaker.record(exc.error)
            raise exc.error from exc
        except UpstreamError as exc:
            breaker.record(exc)
            if isinstance(exc, UpstreamRateLimitedError) and self.budget is not None:
                await self.budget.pause(upstream.name, exc.retry_after or DEFAULT_PAUSE_SECONDS)
            raise
        except asyncio.CancelledError:
            breaker.release()
            raise
        breaker.record(None)
        return result

    async def _get_once(self, upstream: Upstream, path: str, params: dict[str, Any] | None) -> Any:
        url = f"{upstream.base_url}{path}"
        started = time.perf_counter()
        where = {"upstream": upstream.name}
        try:
            response = await self._http.get(url, params=params, headers=upstream.headers, timeout=upstream.timeout)
        except httpx.TimeoutException as exc:
            UPSTREAM_CALLS.labels(upstream.name, "timeout").inc()
            raise UpstreamTimeoutError(f"{upstream.name} did not answer within {upstream.timeout}s",
                                       details=where) from exc
        except httpx.TransportError as exc:
            UPSTREAM_CALLS.labels(upstream.name, "unreachable").inc()
            raise _Retryable(UpstreamUnavailableError(f"{upstream.name} is unreachable ({type(exc).__name__})",
                                                      details=where)) from exc
        finally:
            UPSTREAM_LATENCY.labels(upstream.name).observe(time.perf_counter() - started)
        status = response.status_code
        if status in (429, 418):
            UPSTREAM_CALLS.labels(upstream.name, "rate_limited").inc()
            raise UpstreamRateLimitedError(f"{upstream.name} rate limit reached (HTTP {status})",
                                           retry_after=parse_retry_after(response.headers.get("Retry-After")),
                                           details=where)
        if status >= 400:
            UPSTREAM_CALLS.labels(upstream.name, f"http_{status // 100}xx").inc()
            error = UpstreamError(f"{upstream.name} answered HTTP {status}", details={**where, "status": status})
            if status in _RETRYABLE_STATUS:
                raise _Retryable(error)
            raise error
        try:
            payload = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            UPSTREAM_CALLS.labels(upstream.name, "malformed").inc()
            raise UpstreamBadResponseError(f"{upstream.name} sent a body that is not valid JSON",
                                           details=where) from exc
        UPSTREAM_CALLS.labels(upstream.name, "ok").inc()
        return payload
