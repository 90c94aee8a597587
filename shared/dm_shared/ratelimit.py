"""What a rate-limit answer looks like on every venue, and how long it asks us to wait.

A rate limit is recognised by its HTTP status (429, and 418 for Binance's IP ban), or, whatever the status,
by a venue's own code in its JSON error body: Binance -1003 (too many requests), KuCoin 429000, OKX 50011
(rate limit) and 50061 (sub-account rate limit). CoinGecko answers 429 with a JSON body of its own, or a
Cloudflare HTML page: the status is enough. How long to wait comes from `Retry-After` (seconds or an HTTP
date), else from a venue's reset header; without either, the guard pauses exponentially.
"""

import email.utils
import re
import time
from collections.abc import Mapping

RATE_LIMIT_STATUSES = frozenset({418, 429})
# Venue codes that mean "too many requests", as strings (OKX has sent 50011 as a string and as a number).
VENUE_CODES = frozenset({"-1003", "429000", "50011", "50061"})
_CODE = re.compile(r'"code"\s*:\s*"?(-?\d+)"?')


def venue_code(body: bytes | str | None) -> str | None:
    """The `code` of a JSON error body (`{"code": "50011", ...}`), as a string; None without one."""
    if not body:
        return None
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    match = _CODE.search(text[:2000])
    return match.group(1) if match else None


def is_rate_limit(status: int | None, body: bytes | str | None) -> bool:
    """Whether an answer (its status, its body) says the caller sends too many requests."""
    return status in RATE_LIMIT_STATUSES or venue_code(body) in VENUE_CODES


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


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _delta_or_epoch(value: str | None) -> float | None:
    """Seconds to wait from a reset header that carries either seconds (IETF RateLimit) or a unix time."""
    number = _number(value)
    if number is None:
        return None
    return max(0.0, number - time.time()) if number > 1e9 else max(0.0, number)


def wait_seconds(headers: Mapping[str, str] | None) -> float | None:
    """How long an answer asks the caller to wait: Retry-After, else the venue's reset header."""
    if not headers:
        return None
    lower = {key.lower(): value for key, value in headers.items()}
    retry_after = parse_retry_after(lower.get("retry-after"))
    if retry_after is not None:
        return retry_after
    kucoin_ms = _number(lower.get("gw-ratelimit-reset"))  # KuCoin: milliseconds until the window resets
    if kucoin_ms is not None:
        return max(0.0, kucoin_ms / 1000)
    return _delta_or_epoch(lower.get("ratelimit-reset") or lower.get("x-ratelimit-reset"))
