"""What suite tests share: the whole suite as local processes on free ports, the sandbox's control API,
the recorded payloads it serves."""

import csv
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import redis

from devstack import Stack
from devstack.catalogue import sandbox_url
from gateway.registry import SERVICES

SANDBOX_DATA = Path(__file__).resolve().parents[1] / "sandbox" / "data"

MARKET_PAGE_TTL = 2.0
KEYS_REFRESH = 1.0  # the gateway's default GATEWAY_KEYS_REFRESH_SECONDS

# Short TTLs so expiry can be observed in seconds; a high breaker threshold and CoinGecko budget so one
# test's calls and injected failures never pause an upstream for the next test (the breaker and the
# budget have tests of their own).
SUITE_ENV = {
    "GATEWAY_CACHE_TTL": json.dumps({"market": 2, "ohlcv": 2, "price": 2, "stats": 2, "chain": 2}),
    "MARKET_UPSTREAM_TIMEOUT": "1.5",
    "MARKET_PRICE_BUDGET_MS": "1000",
    "MARKET_BREAKER_THRESHOLD": "1000",
    "MARKET_BUDGETS": json.dumps({"coingecko": 100_000, "coinmarketcap": 100_000, "coinpaprika": 100_000}),
    "MARKET_PAGE_TTL_SECONDS": str(MARKET_PAGE_TTL),
    # History blocks are fetched for every request here, as the fallback tests inject a fault between two
    # windows of one block; tests/test_upstream_resources.py runs a suite of its own with the block cache on.
    "MARKET_HISTORY_TTL_SECONDS": "0",
    "MARKET_HISTORY_CLOSED_TTL_SECONDS": "0",
    # Every test shares one client address: the edge's per-address limit has tests of its own (test_edge).
    "GATEWAY_RATE_ANONYMOUS": "1000000/minute",
    "LOG_LEVEL": "INFO",
    # chain-svc: Etherscan keyed (the sandbox takes any key), quick scans, no pause between tests.
    "CHAIN_ETHERSCAN_API_KEY": "sandbox-key",
    "CHAIN_UPSTREAM_TIMEOUT": "1.5",
    "CHAIN_BREAKER_THRESHOLD": "1000",
    "CHAIN_BUDGETS": json.dumps({"etherscan": 100_000, "routescan": 100_000, "mempool": 100_000, "esplora": 100_000,
                                 "whale_alert": 100_000}),
    "CHAIN_POLL_SECONDS": "1",
    "CHAIN_LEASE_TTL_SECONDS": "4",
    "CHAIN_LEASE_RENEW_SECONDS": "1",
    # Until news-svc runs in the suite (then the stack points ai-svc at it), ai-svc runs without one:
    # never someone else's news-svc on the default port.
    "AI_NEWS_URL": "none",
    # ai-svc's LLM is the sandbox's OpenAI-compatible endpoint (the stack points AI_LLM_URL at it offline), with
    # two keys so that a test can rate-limit one, and no minimum interval, so that every analysis may ask it.
    "AI_LLM_API_KEY": "sk-sandbox-primary",
    "AI_LLM_BACKUP_KEYS": "sk-sandbox-backup",
    "AI_LLM_MIN_INTERVAL_SECONDS": "0",
    # The periodic runner's pairs: those the sandbox has history of.
    "AI_TRACKED_SYMBOLS": json.dumps(["BTC/USDT", "ETH/USDT"]),
    # Routes' own limits (spec 004's 10 analyses a minute ...) are the edge's stack's to test; suite tests call
    # those routes more often.
    "GATEWAY_RATE_ROUTES": json.dumps({route.path: "1000000/minute" for service in SERVICES
                                       for route in service.routes if route.rate}),
}

_unique = itertools.count(200)


def expire_market_pages() -> None:
    """Wait out market-svc's page cache, so the next /api/market asks its upstreams again (a new `limit`
    is a new gateway key, but every limit is cut from the same cached upstream page)."""
    time.sleep(MARKET_PAGE_TTL + 0.1)


def gone(pid: int) -> bool:
    """True when no process has this pid and no process is left in its process group."""
    for probe in (os.kill, os.killpg):
        try:
            probe(pid, 0)
        except ProcessLookupError:
            continue
        return False
    return True


def unique_limit() -> int:
    """A `limit` no other test uses, so each test starts on a cold cache key."""
    return next(_unique)


def recorded(name: str):
    """A recorded upstream payload the sandbox serves."""
    return json.loads((SANDBOX_DATA / name).read_text())


def recorded_closes(symbol: str) -> dict[int, float]:
    """The recorded hourly closes under their close times, shifted as the sandbox serves them (the last
    recorded candle is the one in progress now)."""
    with open(SANDBOX_DATA / "history" / f"{symbol}_1h.csv") as handle:
        rows = list(csv.DictReader(handle))
    shift = int(time.time()) // 3600 * 3_600_000 - int(rows[-1]["t"])
    return {int(r["t"]) + shift + 3_600_000: float(r["c"]) for r in rows}


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """`values` in os.environ for the block (the processes a Stack starts inherit them)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def running_suite(run_dir: Path, env: dict[str, str] | None = None, **stack_options) -> Iterator[Stack]:
    """The full offline suite: Redis, NATS, mongo-wire, sandbox, market-svc, gateway, traefik."""
    with environment({**SUITE_ENV, **(env or {})}), Stack(run_dir, offline=True, **stack_options) as stack:
        yield stack


def create_key(stack: Stack, *, name: str = "test", scopes: str = "read", rate: str | None = None) -> str:
    """A new API key of the suite's key store, made with the operators' command (python -m gateway.keys)."""
    command = [sys.executable, "-m", "gateway.keys", "create", "--name", name, "--scopes", scopes,
               *(("--rate", rate) if rate else ())]
    result = subprocess.run(command, env={**os.environ, "MONGO_URL": stack.url("mongo")}, capture_output=True,
                            text=True, timeout=60, check=True)
    key = next(line.split()[1] for line in result.stdout.splitlines() if line.startswith("key "))
    time.sleep(KEYS_REFRESH + 0.5)  # every gateway reads new keys within GATEWAY_KEYS_REFRESH_SECONDS
    return key


def forget_rate_limits(stack: Stack) -> None:
    """Drop every upstream budget and pause from the suite's Redis (a 429 test must not pause the next test)."""
    with redis.Redis.from_url(stack.url("redis")) as r:
        keys = r.keys("dm:budget:*") + r.keys("dm:pause:*")
        if keys:
            r.delete(*keys)


class SandboxControl:
    """The sandbox's control API: inject faults, read request counts."""

    def __init__(self, url: str):
        self.http = httpx.Client(base_url=url, timeout=10)

    def fault(self, upstream: str, mode: str, path: str | None = None, **options) -> str:
        """Inject a fault (sandbox/README.md); returns its id."""
        body = {"upstream": upstream, "mode": mode, **({"path": path} if path else {}), **options}
        response = self.http.post("/_sandbox/faults", json=body)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def clear(self) -> None:
        self.http.delete("/_sandbox/faults").raise_for_status()

    def count(self, upstream: str, path: str) -> int:
        response = self.http.get("/_sandbox/requests", params={"upstream": upstream, "path": path})
        return response.raise_for_status().json()["total"]

    def reset_counts(self) -> None:
        self.http.delete("/_sandbox/requests").raise_for_status()


@contextmanager
def sandbox_control(stack: Stack, *, reset_counts: bool = False, forget_limits: bool = False
                    ) -> Iterator[SandboxControl]:
    """The sandbox's control API for one test: no faults before or after it, its request counts from zero
    (`reset_counts`), and no upstream budget or pause left by an earlier test or for a later one
    (`forget_limits`)."""
    control = SandboxControl(stack.url("sandbox"))
    control.clear()
    if reset_counts:
        control.reset_counts()
    if forget_limits:
        forget_rate_limits(stack)
    try:
        yield control
    finally:
        control.clear()
        control.http.close()
        if forget_limits:
            forget_rate_limits(stack)


def served(stack: Stack, upstream: str, path: str, **params):
    """What the sandbox's stand-in for `upstream` serves at `path` now (its market is derived from the
    time-shifted history, so tests compare answers with this, not with the recordings)."""
    response = httpx.get(f"{sandbox_url(stack, upstream)}{path}", params=params, timeout=10)
    response.raise_for_status()
    return response.json()
