"""One upstream budget for every replica: two market-svc processes share CoinGecko's allowance and pause."""

import time

import httpx
import pytest

from devstack.catalogue import CATALOGUE, replica

from contract import Contract
from helpers import forget_rate_limits, running_suite, sandbox_control, unique_limit

MARKETS_PATH = "/api/v3/coins/markets"
ALLOWANCE = 6  # CoinGecko calls per minute in this suite: a burst can spend 6, then 0.1 more per second


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    # every request reaches CoinGecko: no page cache in front of the budget
    env = {"MARKET_BUDGETS": f'{{"coingecko": {ALLOWANCE}}}', "MARKET_PAGE_TTL_SECONDS": "0"}
    components = ["redis", "nats", "mongo", "sandbox", "market", "market-1"]
    with running_suite(tmp_path_factory.mktemp("budget"), env, components=components,
                       catalogue=(*CATALOGUE, replica("market", 1))) as stack:
        yield stack


@pytest.fixture
def control(replicas):
    forget_rate_limits(replicas)  # each test starts with a full bucket
    with sandbox_control(replicas, reset_counts=True) as sandbox:
        yield sandbox


def market(stack, name: str) -> dict:
    """/v1/market straight from one replica, on a key no cache holds (checked against market-svc's document)."""
    response = httpx.get(f"{stack.url(name)}/v1/market", params={"limit": unique_limit()}, timeout=30)
    Contract.of(stack.url(name)).check(response)
    return response.json()


def test_a_burst_on_two_replicas_stays_within_the_shared_budget(replicas, control):
    answers = [market(replicas, name) for _ in range(8) for name in ("market", "market-1")]
    calls = control.count("coingecko", MARKETS_PATH)
    assert ALLOWANCE <= calls <= ALLOWANCE + 1  # the allowance, plus what refills during the test
    assert sum(a["source"] == "coingecko" for a in answers) == calls
    spent = [a for a in answers if a["source"] != "coingecko"]
    assert spent and all(a["source"] == "binance" for a in spent)  # fell back, labelled
    assert all(a["provenance"]["failed"][0]["code"] == "UPSTREAM_BUDGET_EXHAUSTED" for a in spent)


def test_a_429_pauses_the_upstream_for_every_replica_until_retry_after(replicas, control):
    control.fault("coingecko", mode="rate_limit", retry_after=3, times=1)
    first = market(replicas, "market")
    assert first["source"] == "binance" and first["provenance"]["failed"][0]["code"] == "UPSTREAM_RATE_LIMITED"
    assert control.count("coingecko", MARKETS_PATH) == 1
    other = market(replicas, "market-1")  # the other replica does not even ask
    assert other["source"] == "binance" and other["provenance"]["failed"][0]["code"] == "UPSTREAM_RATE_LIMITED"
    assert control.count("coingecko", MARKETS_PATH) == 1
    time.sleep(3.2)
    after = market(replicas, "market-1")
    assert after["source"] == "coingecko" and control.count("coingecko", MARKETS_PATH) == 2
