"""The HTTP client every service uses to call upstream REST APIs.

One pooled httpx client per process; per upstream a base URL, headers, a timeout and its `Guard`
(breaker, shared budget, metrics, rate-limit pause). Idempotent GETs are retried once on connection
failures and 502/503/504 (tenacity, with jittered backoff); timeouts are not retried, because the
fallback chain is the faster remedy. POSTs (an LLM's chat completion) are never retried: the caller
decides what a second attempt costs. Every httpx failure is translated here, once, into the suite's
UpstreamError tree.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from dm_shared.errors import (
    UpstreamBadResponseError,
    UpstreamError,
    UpstreamRateLimitedError,
    UpstreamRefusedError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from dm_shared.guard import Guard
from dm_shared.ratelimit import is_rate_limit, venue_code, wait_seconds

_RETRYABLE_STATUS = {502, 503, 504}
USER_AGENT = "dreammaker-crypto-api/0.1"


@dataclass
class Upstream:
    """One upstream API: where it is, how to call it, and the guard every call to it passes."""

    guard: Guard
    base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 5.0
    retries: int = 1
    # Statuses this upstream uses for "too many requests" beyond the ones every venue shares (dm_shared.ratelimit),
    # e.g. CoinPaprika's 402 when a free plan's monthly calls are spent.
    rate_limit_statuses: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")

    @property
    def name(self) -> str:
        return self.guard.name


@dataclass(frozen=True)
class Fetched:
    """A body fetched with `UpstreamClient.get_bytes`, with the validators for the next conditional GET;
    `not_modified` when the upstream answered 304 (no body)."""

    content: bytes
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


class _Retryable(Exception):
    def __init__(self, error: UpstreamError):
        self.error = error


class UpstreamClient:
    """Pooled HTTP access to upstream APIs, each call under its upstream's guard."""

    def __init__(self, *, max_connections: int = 100, transport: httpx.AsyncBaseTransport | None = None):
        self._http = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            transport=transport, follow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def get_json(self, upstream: Upstream, path: str, params: dict[str, Any] | None = None,
                       cost: float = 1.0, check: Callable[[Any], None] | None = None) -> Any:
        """GET `path` on `upstream` and return the decoded JSON, or raise an UpstreamError.

        `check` reads the decoded body of an API that answers errors with HTTP 200 (Etherscan's
        `status "0"`) and raises the suite's error for it; it runs inside the guard, so a rate-limit
        answer found there pauses the upstream like a 429 does.
        """
        async def call() -> Any:
            body = await self._get_with_retries(upstream, path, params)
            if check is not None:
                check(body)
            return body

        return await upstream.guard.call(call, cost=cost)

    async def get_bytes(self, upstream: Upstream, path: str, params: dict[str, Any] | None = None, *,
                        etag: str | None = None, last_modified: str | None = None, cost: float = 1.0) -> Fetched:
        """GET `path` on `upstream` as raw bytes (a feed, a page); with `etag` / `last_modified` from the last
        answer it is a conditional GET, and an unchanged resource costs a 304 (`Fetched.not_modified`)."""
        conditions = {}
        if etag:
            conditions["If-None-Match"] = etag
        if last_modified:
            conditions["If-Modified-Since"] = last_modified

        def fetched(response: httpx.Response) -> Fetched:
            return Fetched(response.content, response.headers.get("ETag") or etag,
                           response.headers.get("Last-Modified") or last_modified,
                           not_modified=response.status_code == 304)

        return await upstream.guard.call(
            lambda: self._get_with_retries(upstream, path, params, conditions, fetched), cost=cost)

    async def post_json(self, upstream: Upstream, path: str, body: Any, cost: float = 1.0) -> Any:
        """POST `body` as JSON to `path` on `upstream` and return the decoded JSON answer, or raise an
        UpstreamError; never retried."""
        async def send() -> Any:
            try:
                return await self._request_once(upstream, path, None, {"Content-Type": "application/json"},
                                                 method="POST", content=orjson.dumps(body))
            except _Retryable as exc:
                raise exc.error from exc
        return await upstream.guard.call(send, cost=cost)

    async def _get_with_retries(self, upstream: Upstream, path: str, params: dict[str, Any] | None,
                                headers: dict[str, str] | None = None, read=None) -> Any:
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(1 + upstream.retries), wait=wait_random_exponential(0.05, 0.5),
                retry=retry_if_exception(lambda exc: isinstance(exc, _Retryable)), reraise=True,
            ):
                with attempt:
                    return await self._request_once(upstream, path, params, headers, read)
        except _Retryable as exc:
            raise exc.error from exc
        raise AssertionError("unreachable: tenacity re-raises the last attempt")

    async def _request_once(self, upstream: Upstream, path: str, params: dict[str, Any] | None,
                            headers: dict[str, str] | None = None, read=None, *, method: str = "GET",
                            content: bytes | None = None) -> Any:
        where = {"upstream": upstream.name}
        try:
            response = await self._http.request(method, f"{upstream.base_url}{path}", params=params,
                                                headers={**upstream.headers, **(headers or {})}, content=content,
                                                timeout=upstream.timeout)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeoutError(f"{upstream.name} did not answer within {upstream.timeout}s",
                                       details=where) from exc
        except httpx.TransportError as exc:
            raise _Retryable(UpstreamUnavailableError(f"{upstream.name} is unreachable ({type(exc).__name__})",
                                                      details=where)) from exc
        status = response.status_code
        if status >= 400 and (status in upstream.rate_limit_statuses or is_rate_limit(status, response.content)):
            code = venue_code(response.content)
            raise UpstreamRateLimitedError(
                f"{upstream.name} asked us to slow down (HTTP {status}{f', code {code}' if code else ''})",
                retry_after=wait_seconds(response.headers), details={**where, "status": status})
        if 400 <= status < 500:
            raise UpstreamRefusedError(f"{upstream.name} refused the request (HTTP {status})",
                                       details={**where, "status": status})
        if status >= 500:
            error = UpstreamError(f"{upstream.name} answered HTTP {status}", details={**where, "status": status})
            if status in _RETRYABLE_STATUS:
                raise _Retryable(error)
            raise error
        if read is not None:
            return read(response)
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise UpstreamBadResponseError(f"{upstream.name} sent a body that is not valid JSON",
                                           details=where) from exc
