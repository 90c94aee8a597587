"""Every venue's rate-limit answer is recognised, and its wait read from its headers."""

import email.utils
import json
import time
from pathlib import Path

import pytest

from dm_shared.ratelimit import is_rate_limit, venue_code, wait_seconds

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "rate_limits"


@pytest.mark.parametrize("name, status", [
    ("binance_http429_-1003.json", 429), ("binance_http418_-1003.json", 418),
    ("kucoin_http429_429000.json", 429), ("okx_http429_50011.json", 429),
    ("okx_http429_50011_numeric_2021.json", 429), ("coingecko_http429.json", 429),
])
def test_recorded_rate_limit_answers_are_recognised(name, status):
    body = (FIXTURES / name).read_bytes()
    assert is_rate_limit(status, body)
    assert json.loads(body)  # a real JSON answer, as recorded


def test_a_venue_code_is_a_rate_limit_whatever_the_status():
    assert is_rate_limit(503, b'{"msg":"Too Many Requests","code":"50011"}')  # OKX behind a 503
    assert is_rate_limit(400, b'{"code":50061,"msg":"Sub-account rate limit exceeded"}')
    assert venue_code(b'{"code":-1003,"msg":"..."}') == "-1003"
    assert not is_rate_limit(400, b'{"code":-1121,"msg":"Invalid symbol."}')
    assert not is_rate_limit(500, b"<html>Server Error</html>")
    assert is_rate_limit(429, b"<html>cloudflare</html>")  # a 429 whose body is not JSON


def test_waits_come_from_retry_after_or_the_venues_reset_headers():
    assert wait_seconds({"Retry-After": "30"}) == 30
    date = email.utils.formatdate(time.time() + 120, usegmt=True)
    assert 118 <= wait_seconds({"retry-after": date}) <= 120
    assert wait_seconds({"gw-ratelimit-reset": "23569"}) == pytest.approx(23.569)  # KuCoin: milliseconds
    assert wait_seconds({"RateLimit-Reset": "12"}) == 12
    assert 59 <= wait_seconds({"x-ratelimit-reset": str(int(time.time()) + 60)}) <= 60  # a unix time
    assert wait_seconds({"content-type": "application/json"}) is None and wait_seconds(None) is None
