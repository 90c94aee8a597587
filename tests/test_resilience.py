"""Killing Redis or market-svc while the suite runs (a suite of its own, so other tests are unaffected)."""

import time

import httpx
import pytest
import redis

from contract import Contract
from helpers import running_suite, unique_limit


@pytest.fixture(scope="module")
def own_suite(tmp_path_factory):
    with running_suite(tmp_path_factory.mktemp("resilience")) as stack:
        yield stack


@pytest.fixture
def client(own_suite):
    with Contract.of(own_suite.url("traefik")).client(own_suite.url("traefik")) as http:
        yield http


def cached_keys(stack) -> list[bytes]:
    with redis.Redis.from_url(stack.url("redis")) as r:
        return r.keys("dm:c:*")


def test_requests_succeed_without_redis_and_caching_resumes(own_suite, client):
    own_suite.kill("redis")
    try:
        for _ in range(3):
            response = client.get("/api/market", params={"limit": unique_limit()})
            assert response.status_code == 200 and response.json()["source"] == "coingecko"
        health = client.get("/api/health").json()
        assert health["status"] == "degraded" and health["components"]["redis"]["status"] == "unhealthy"
    finally:
        own_suite.start("redis")
    time.sleep(1.5)  # the cache retries Redis after its cool-down
    limit = unique_limit()
    assert client.get("/api/market", params={"limit": limit}).status_code == 200
    assert f"dm:c:/api/market?limit={limit}".encode() in cached_keys(own_suite)
    assert client.get("/health").json()["components"]["redis"]["status"] == "healthy"


def test_market_svc_down_gives_503_envelopes_and_health_says_so(own_suite, client):
    own_suite.kill("market")
    try:
        response = client.get("/api/ohlcv", params={"symbol": "BTC/USDT", "timeframe": "1h", "limit": unique_limit()})
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        health = client.get("/api/health")
        assert health.json()["components"]["market-svc"]["status"] == "unhealthy"
        # market-svc is required: without it the gateway says unhealthy, 503 with Retry-After (spec 002's words);
        # load balancers keep it in rotation through /healthz, since stream-svc still serves /ws
        assert health.status_code == 503 and health.json()["status"] == "unhealthy"
        assert int(health.headers["retry-after"]) >= 1
        assert httpx.get(f"{own_suite.url('gateway')}/healthz", timeout=5).status_code == 200
    finally:
        own_suite.start("market")
    ok = client.get("/api/ohlcv", params={"symbol": "BTC/USDT", "timeframe": "1h", "limit": unique_limit()})
    assert ok.status_code == 200
