"""Two chain-svc replicas scan each chain once (a lease) and an alert is stored and published once; with a
Whale Alert key, the recorded Whale Alert transactions are the alerts, with their owners."""

import asyncio
import time
from decimal import Decimal

import httpx
import nats
import orjson
import pytest
from pymongo import MongoClient

from devstack.catalogue import CATALOGUE, replica

from contract import Contract
from helpers import recorded, running_suite

ENV = {"CHAIN_WHALE_ALERT_API_KEY": "sandbox-key"}
REPLICAS = ("chain", "chain-1")


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    components = ["redis", "nats", "mongo", "sandbox", "market", "chain", "chain-1"]
    with running_suite(tmp_path_factory.mktemp("chain-replicas"), ENV, components=components,
                       catalogue=(*CATALOGUE, replica("chain", 1))) as stack:
        yield stack


def health(stack, name: str) -> dict:
    return httpx.get(f"{stack.url(name)}/health", timeout=10).json()


def wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s")


def scanning(stack, names=REPLICAS) -> list[str]:
    """Every chain each replica scans, all together (a chain twice means two pollers)."""
    return sorted(chain for name in names for chain in health(stack, name)["scanning"])


async def test_two_replicas_scan_once_and_publish_each_alert_once(replicas):
    # The first replica up takes both chains and gives one back when the second joins.
    wait_for(lambda: [len(health(replicas, n)["scanning"]) for n in REPLICAS] == [1, 1], 20)
    assert scanning(replicas) == ["bitcoin", "ethereum"]  # one poller per chain for the deployment
    price = Decimal(str(httpx.get(f"{replicas.url('market')}/v1/price/ETH", timeout=30).json()["price"]))
    nc = await nats.connect(replicas.url("nats"))
    seen: list[dict] = []

    async def on_message(msg) -> None:
        seen.append(orjson.loads(msg.data))

    await nc.subscribe("chain.whale.>", cb=on_message)
    mined = httpx.post(replicas.url("sandbox") + "/_sandbox/chain/blocks", json={"transfers": [
        {"value": int(Decimal(3_000_000) / price * 10**18)}]}).raise_for_status().json()
    hashes = set(mined["transactions"])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(m["hash"] in hashes for m in seen):
        await asyncio.sleep(0.2)
    await asyncio.sleep(2)  # both replicas have had several rounds by now
    await nc.close()
    assert len([m for m in seen if m["hash"] in hashes]) == 1
    with MongoClient(replicas.url("mongo"), serverSelectionTimeoutMS=3000) as mongo:
        stored = list(mongo["dreammaker"]["whale_alerts"].find({"hash": {"$in": sorted(hashes)}}))
    assert len(stored) == 1 and stored[0]["type"] == "transfer"
    assert sum(health(replicas, n)["alerts_found"] for n in REPLICAS) == 1


def test_the_other_replica_takes_over_a_dead_scanners_chain(replicas):
    wait_for(lambda: scanning(replicas) == ["bitcoin", "ethereum"], 20)
    replicas.kill("chain")
    try:
        wait_for(lambda: scanning(replicas, ("chain-1",)) == ["bitcoin", "ethereum"], 15)
    finally:
        replicas.start("chain")
    wait_for(lambda: scanning(replicas) == ["bitcoin", "ethereum"], 20)  # shared again, each chain once


def test_with_a_whale_alert_key_the_recorded_transactions_are_the_alerts_with_owners(replicas):
    response = httpx.get(f"{replicas.url('chain')}/v1/whale-alerts", params={"min_value": 1_000_000, "limit": 50},
                         timeout=30)
    Contract.of(replicas.url("chain")).check(response)
    body = response.json()
    assert body["source"] == "whale_alert" and body["provenance"]["fallback"] is False
    rows = [r for r in recorded("whale_alert/v1_transactions.json")["transactions"] if r["amount_usd"] >= 1_000_000]
    assert {a["hash"] for a in body["alerts"]} == {r["hash"] for r in rows}
    by_id = {f"whale_{r['id']}": r for r in rows}
    for alert in body["alerts"]:
        row = by_id[alert["id"]]
        assert alert["amount"] == row["amount"] and alert["usd_value"] == row["amount_usd"]
        assert alert["token"] == row["symbol"].upper() and alert["chain"] == row["blockchain"]
        assert alert["from_owner"] == row["from"].get("owner") and alert["to_owner"] == row["to"].get("owner")
    binance = next(a for a in body["alerts"] if a["from_owner"] == "binance" and a["to_owner"] == "binance")
    assert binance["type"] == "exchange_internal" and binance["from"].endswith("(binance)")
    assert binance["from_address"] == "0x3f5ce5fbfe3e9af3971dd833d26ba9b5c936f0be"
    outflow = next(a for a in body["alerts"] if a["from_owner"] == "binance" and a["to_owner"] == "sygnia.io")
    assert outflow["type"] == "exchange_outflow"
    stamps = [a["timestamp"] for a in body["alerts"]]
    assert stamps == sorted(stamps, reverse=True)


def test_whale_alert_failing_falls_back_to_the_detector(replicas):
    control = httpx.Client(base_url=replicas.url("sandbox"), timeout=10)
    control.post("/_sandbox/faults", json={"upstream": "whale_alert", "mode": "status", "status": 500})
    try:
        body = httpx.get(f"{replicas.url('chain')}/v1/whale-alerts", params={"min_value": 0}, timeout=30).json()
    finally:
        control.delete("/_sandbox/faults")
        control.close()
    assert body["source"] == "detector" and body["provenance"]["fallback"] is True
    assert [(f["source"], f["code"]) for f in body["provenance"]["failed"]] == [("whale_alert", "UPSTREAM_ERROR")]
