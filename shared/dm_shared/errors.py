"""The one error hierarchy of the suite: every error a client can meet, with its stable code and status.

Adapters translate foreign exceptions (httpx, ccxt, redis, nats) into these at their boundary; one
handler per app renders them in spec 002's envelope.

    ApiError                      INTERNAL_ERROR             500
    ├── BadRequestError           BAD_REQUEST                400  a request HTTP itself cannot read
    │   ├── InvalidRangeError     INVALID_RANGE              400
    │   └── InvalidAddressError   INVALID_ADDRESS            400  not an address of the chain asked
    ├── PayloadTooLargeError      PAYLOAD_TOO_LARGE          413
    ├── UriTooLongError           URI_TOO_LONG               414
    ├── HeadersTooLargeError      HEADERS_TOO_LARGE          431
    ├── RequestTimeoutError       REQUEST_TIMEOUT            408  headers not sent in time (slow client)
    ├── UnauthorizedError         UNAUTHORIZED               401  no credential, or one that is not valid
    ├── ForbiddenError            FORBIDDEN                  403  a valid credential without the scope
    ├── ValidationFailedError     VALIDATION_ERROR           422
    ├── NotFoundError             NOT_FOUND                  404
    │   ├── InvalidSymbolError    INVALID_SYMBOL             404
    │   └── NotSupportedError     NOT_SUPPORTED              404  no source serves this request at all
    ├── MethodNotAllowedError     METHOD_NOT_ALLOWED         405
    ├── RateLimitedError          RATE_LIMITED               429  (Retry-After)
    ├── UpstreamError             UPSTREAM_ERROR             502  an upstream answered badly
    │   ├── UpstreamRateLimitedError   UPSTREAM_RATE_LIMITED 502  it asked us to slow down (retry_after)
    │   ├── UpstreamBudgetError        UPSTREAM_BUDGET_EXHAUSTED 503  our own budget for it is spent
    │   ├── UpstreamBadResponseError   UPSTREAM_BAD_RESPONSE 502  a body we could not read
    │   ├── UpstreamRefusedError       UPSTREAM_REFUSED      502  it refused the request itself (HTTP 4xx)
    │   ├── UpstreamPlanError          UPSTREAM_PLAN_REQUIRED 502  our plan with it does not cover this
    │   ├── UpstreamUnavailableError   UPSTREAM_UNAVAILABLE  503  no answer, or every source failed
    │   └── UpstreamTimeoutError       UPSTREAM_TIMEOUT      504
    ├── SourceUnsupportedError    SOURCE_UNSUPPORTED         501  a source cannot serve this request at all
    ├── ServiceUnavailableError   SERVICE_UNAVAILABLE        503  a suite service is down (gateway)
    └── GatewayTimeoutError       GATEWAY_TIMEOUT            504  a suite service was too slow (gateway)
"""

import math
from typing import Any

# Answers that tell the client to come back later carry Retry-After (seconds): what the error knows,
# else this.
RETRY_STATUSES = frozenset({429, 503, 504})
DEFAULT_RETRY_SECONDS = 5.0


class ApiError(Exception):
    """Base of every error rendered to clients in the envelope."""

    code = "INTERNAL_ERROR"
    status = 500
    message = "Internal error"

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details or {}
        self.headers = headers or {}

    def response_headers(self) -> dict[str, str]:
        """The headers of this error's answer: its own, no caching anywhere, and Retry-After on a 429, 503
        or 504."""
        headers = {"Cache-Control": "no-store", **self.headers}
        if self.status in RETRY_STATUSES and not any(name.lower() == "retry-after" for name in headers):
            seconds = (getattr(self, "retry_after", None) or self.details.get("retry_after")
                       or self.details.get("retry_in") or DEFAULT_RETRY_SECONDS)
            headers["Retry-After"] = str(max(1, math.ceil(seconds)))
        return headers


class BadRequestError(ApiError):
    code, status, message = "BAD_REQUEST", 400, "Bad request"


class PayloadTooLargeError(ApiError):
    code, status, message = "PAYLOAD_TOO_LARGE", 413, "Request body too large"


class UriTooLongError(ApiError):
    code, status, message = "URI_TOO_LONG", 414, "Request line too long"


class HeadersTooLargeError(ApiError):
    code, status, message = "HEADERS_TOO_LARGE", 431, "Request headers too large"


class RequestTimeoutError(ApiError):
    code, status, message = "REQUEST_TIMEOUT", 408, "The request was not sent in time"


class UnauthorizedError(ApiError):
    """No credential where one is needed, or one that is not valid (unknown, revoked, expired, badly signed:
    the answer does not say which, so it tells nothing of whether a key exists)."""

    code, status, message = "UNAUTHORIZED", 401, "A valid API key or token is required"

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        super().__init__(message, details=details, headers={"WWW-Authenticate": 'Bearer realm="dreammaker"'})


class ForbiddenError(ApiError):
    code, status, message = "FORBIDDEN", 403, "This key does not have the scope this route needs"


class InvalidRangeError(BadRequestError):
    code, message = "INVALID_RANGE", "The time range is empty or reversed"


class InvalidAddressError(BadRequestError):
    code, message = "INVALID_ADDRESS", "Not a valid address for this chain"


class ValidationFailedError(ApiError):
    code, status, message = "VALIDATION_ERROR", 422, "Invalid request parameters"


class NotFoundError(ApiError):
    code, status, message = "NOT_FOUND", 404, "Not found"


class InvalidSymbolError(NotFoundError):
    code, message = "INVALID_SYMBOL", "Symbol is not supported"


class NotSupportedError(NotFoundError):
    """Every source that could be asked refused the request or cannot serve it (a currency none prices in)."""

    code, message = "NOT_SUPPORTED", "No source serves this request"


class MethodNotAllowedError(ApiError):
    code, status, message = "METHOD_NOT_ALLOWED", 405, "Method not allowed"

    def __init__(self, allowed: list[str], message: str | None = None):
        super().__init__(message, details={"allowed": allowed}, headers={"Allow": ", ".join(allowed)})


class RateLimitedError(ApiError):
    code, status, message = "RATE_LIMITED", 429, "Too many requests"

    def __init__(self, message: str | None = None, *, retry_after: float, details: dict[str, Any] | None = None):
        super().__init__(message, details={"retry_after": retry_after, **(details or {})},
                         headers={"Retry-After": str(max(1, round(retry_after)))})
        self.retry_after = retry_after


class UpstreamError(ApiError):
    """An upstream answered badly (5xx, malformed body, refused our request)."""

    code, status, message = "UPSTREAM_ERROR", 502, "Upstream answered with an error"


class UpstreamRateLimitedError(UpstreamError):
    code, message = "UPSTREAM_RATE_LIMITED", "Upstream rate limit reached"

    def __init__(self, message: str | None = None, *, retry_after: float | None = None,
                 details: dict[str, Any] | None = None):
        super().__init__(message, details={"retry_after": retry_after, **(details or {})})
        self.retry_after = retry_after


class UpstreamBudgetError(UpstreamError):
    """Our own budget for the upstream is spent: not called, so as not to break its published limit."""

    code, status, message = "UPSTREAM_BUDGET_EXHAUSTED", 503, "Upstream rate budget spent"


class UpstreamRefusedError(UpstreamError):
    """The upstream answered our request with a client error (4xx but a rate limit): asking again will not help."""

    code, message = "UPSTREAM_REFUSED", "Upstream refused the request"


class UpstreamBadResponseError(UpstreamError):
    code, message = "UPSTREAM_BAD_RESPONSE", "Upstream sent a response that could not be read"


class UpstreamPlanError(UpstreamError):
    """The upstream answers this only on a paid plan (Etherscan's free tier and BSC): a key matter, not an outage."""

    code, message = "UPSTREAM_PLAN_REQUIRED", "Upstream serves this only on a paid plan"


class UpstreamUnavailableError(UpstreamError):
    code, status, message = "UPSTREAM_UNAVAILABLE", 503, "No upstream source could answer"


class UpstreamTimeoutError(UpstreamError):
    code, status, message = "UPSTREAM_TIMEOUT", 504, "Upstream did not answer in time"


class SourceUnsupportedError(ApiError):
    """A source cannot serve this request at all (no key, unsupported timeframe); the chain moves on."""

    code, status, message = "SOURCE_UNSUPPORTED", 501, "Source does not support this request"


class ServiceUnavailableError(ApiError):
    code, status, message = "SERVICE_UNAVAILABLE", 503, "Service is unavailable"


class GatewayTimeoutError(ApiError):
    code, status, message = "GATEWAY_TIMEOUT", 504, "Service did not answer in time"
