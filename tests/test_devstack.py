"""devstack starts the real infrastructure servers, restarts them on the same port, and leaves
no process behind. Only the infrastructure here: the services have their own suite-level tests."""

from __future__ import annotations

import asyncio
import os
import socket

import httpx
import nats
import pytest
import redis

from dm_shared.mongo import open_mongo

from devstack import DevstackError, PortInUseError, Stack
from devstack.catalogue import REDIS_MAXMEMORY, sandbox_offsets

from helpers import gone

INFRA = ["redis", "nats", "mongo", "traefik"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    with Stack(tmp_path_factory.mktemp("devstack"), components=INFRA) as stack:
        yield stack


def _ping(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return client.ping()
    finally:
        client.close()


def test_redis_answers_ping(stack: Stack) -> None:
    assert stack.url("redis") == f"redis://127.0.0.1:{stack.port('redis')}"
    assert _ping(stack.url("redis")) is True


def test_redis_is_bounded_as_in_compose(stack: Stack) -> None:
    with redis.Redis.from_url(stack.url("redis"), decode_responses=True) as client:
        bound = client.config_get("maxmemory*")
    assert int(bound["maxmemory"]) == 256 * 1024 * 1024 and REDIS_MAXMEMORY == "256mb"
    assert bound["maxmemory-policy"] == "volatile-lru"


def test_nats_accepts_a_connection_with_jetstream(stack: Stack) -> None:
    async def account_info():
        nc = await nats.connect(stack.url("nats"), connect_timeout=2, max_reconnect_attempts=0)
        try:
            return await nc.jetstream().account_info()
        finally:
            await nc.close()

    info = asyncio.run(account_info())
    assert info.limits is not None


def test_mongo_wire_server_stores_and_finds_documents(stack: Stack) -> None:
    async def round_trip():
        client = open_mongo(stack.url("mongo"), timeout_ms=3000)
        try:
            candles = client["devstack_test"]["candles"]
            await candles.insert_one({"symbol": "BTC/USDT", "close": 97000.5})
            return await candles.find_one({"symbol": "BTC/USDT"}, {"_id": 0})
        finally:
            await client.close()

    assert asyncio.run(round_trip()) == {"symbol": "BTC/USDT", "close": 97000.5}
    assert list((stack.run_dir / "mongo" / "data").glob("devstack_test*"))


def test_traefik_answers_ping_and_routes_to_the_gateway(stack: Stack) -> None:
    with httpx.Client(trust_env=False, timeout=5) as client:
        assert client.get(f"http://127.0.0.1:{stack.port('traefik_ping')}/ping").status_code == 200
        # The gateway is not started here: a routed path reaches traefik's load balancer (502),
        # a path outside the contract's rule finds no router (404).
        assert client.get(f"{stack.url('traefik')}/api/coins").status_code == 502
        assert client.get(f"{stack.url('traefik')}/health").status_code == 502
        assert client.get(f"{stack.url('traefik')}/elsewhere").status_code == 404


def test_killed_redis_comes_back_on_the_same_port(stack: Stack) -> None:
    port, old_pid = stack.port("redis"), stack.pid("redis")
    stack.kill("redis")
    assert stack.pid("redis") is None and gone(old_pid)
    with pytest.raises(redis.ConnectionError):
        _ping(stack.url("redis"))
    stack.start("redis")
    assert stack.port("redis") == port and stack.pid("redis") != old_pid
    assert _ping(f"redis://127.0.0.1:{port}") is True


def test_service_env_follows_the_contracts(tmp_path) -> None:
    stack = Stack(tmp_path, offline=False, ports="default", components=[])
    env = stack.env_for("gateway")
    assert env["REDIS_URL"] == "redis://127.0.0.1:6380"
    assert env["NATS_URL"] == "nats://127.0.0.1:4222"
    assert env["MONGO_URL"] == "mongodb://127.0.0.1:27018"
    assert env["GATEWAY_MARKET_URL"] == "http://127.0.0.1:8101"
    assert "LOG_LEVEL" in env
    # Infrastructure gets no service variables of its own.
    assert stack.env_for("redis").get("REDIS_URL") == os.environ.get("REDIS_URL")


def test_offline_market_points_every_upstream_at_the_sandbox(tmp_path) -> None:
    try:
        offsets = sandbox_offsets()
    except DevstackError as exc:
        pytest.fail(f"the sandbox is part of the suite and must be installed: {exc}")
    stack = Stack(tmp_path, offline=True, ports={"sandbox": 18900}, components=[])
    env = stack.env_for("market")
    assert env["MARKET_COINGECKO_URL"] == f"http://127.0.0.1:{18900 + offsets['coingecko']}/api/v3"
    assert env["MARKET_BINANCE_URL"] == f"http://127.0.0.1:{18900 + offsets['binance']}"
    assert env["MARKET_KUCOIN_URL"] == f"http://127.0.0.1:{18900 + offsets['kucoin']}"
    assert env["MARKET_OKX_URL"] == f"http://127.0.0.1:{18900 + offsets['okx']}"
    # devstack sets no key: without one market-svc skips CoinMarketCap, visibly.
    assert env["MARKET_CMC_URL"] == f"http://127.0.0.1:{18900 + offsets['coinmarketcap']}"
    assert env.get("MARKET_CMC_API_KEY") == os.environ.get("MARKET_CMC_API_KEY")
    assert env["MARKET_COINPAPRIKA_URL"] == f"http://127.0.0.1:{18900 + offsets['coinpaprika']}/v1"
    assert "MARKET_BINANCE_URL" not in Stack(tmp_path, offline=False, components=[]).env_for(
        "market"
    ).keys() - os.environ.keys()


def test_no_process_is_left_after_the_context_exits(tmp_path) -> None:
    with Stack(tmp_path, components=INFRA) as stack:
        pids = {name: stack.pid(name) for name in INFRA}
        assert all(pids.values())
    assert {name: pid for name, pid in pids.items() if not gone(pid)} == {}


def test_a_failed_start_up_stops_what_was_already_started(tmp_path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        stack = Stack(tmp_path, components=["redis", "mongo"], ports={"mongo": taken})
        started: list[int] = []
        real_start = stack.start

        def recording_start(name: str) -> float:
            seconds = real_start(name)
            started.append(stack.pid(name))
            return seconds

        stack.start = recording_start  # type: ignore[method-assign]
        with pytest.raises(PortInUseError, match="mongo"):
            stack.start_all()
    assert len(started) == 1 and gone(started[0])


def test_a_picked_port_taken_before_its_component_starts_is_picked_anew(tmp_path):
    """Ports picked free when the stack is made can be taken by another process before their component
    starts; the component then starts on newly picked ports instead of failing the stack."""
    stack = Stack(tmp_path, components=["redis"])
    taken = stack.port("redis")
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", taken))
        squatter.listen()
        with stack:
            assert stack.port("redis") != taken
            with redis.Redis.from_url(stack.url("redis")) as r:
                assert r.ping()
