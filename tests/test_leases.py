"""Leases in the NATS key-value store: an item a replica gives back is released only after its work on
it has stopped, so two replicas never work on one item at once."""

import asyncio

import pytest

from dm_shared.bus import Bus
from dm_shared.leases import Leases

from devstack import Stack

ITEMS = ["BTC/USDT", "ETH/USDT"]


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory):
    with Stack(tmp_path_factory.mktemp("leases"), offline=True, components=["nats"]) as stack:
        yield stack.url("nats")


async def test_an_item_given_back_is_released_only_after_the_work_on_it_stopped(nats_url):
    working: dict[str, str] = {}  # item -> replica working on it
    overlaps: list[str] = []

    def worker(replica: str):
        async def on_change(held: set[str]) -> None:
            for item in [i for i, r in working.items() if r == replica and i not in held]:
                await asyncio.sleep(0.5)  # stopping takes a while (a feed closing its connection)
                del working[item]
            for item in held - {i for i, r in working.items() if r == replica}:
                if item in working:
                    overlaps.append(f"{replica} took {item} while {working[item]} still worked on it")
                working[item] = replica
        return on_change

    buses = [Bus(nats_url, name=name) for name in ("a", "b")]
    for bus in buses:
        await bus.start()
    first, second = (Leases(bus, bucket="test_leases", replica=name, ttl=5, renew_every=0.1)
                     for bus, name in zip(buses, ("a", "b"), strict=True))
    tasks = [asyncio.create_task(first.run(ITEMS, worker("a")))]
    try:
        for _ in range(50):
            await asyncio.sleep(0.1)
            if set(first.held) == set(ITEMS):
                break
        assert working == {item: "a" for item in ITEMS}
        tasks.append(asyncio.create_task(second.run(ITEMS, worker("b"))))  # a replica joins
        for _ in range(50):
            await asyncio.sleep(0.1)
            if sorted(working.values()) == ["a", "b"]:
                break
        assert sorted(working.values()) == ["a", "b"] and len(first.held) == len(second.held) == 1
        assert overlaps == []
        tasks[0].cancel()  # a replica stops: its item goes to the other, again without overlap
        await asyncio.gather(tasks[0], return_exceptions=True)
        for _ in range(80):
            await asyncio.sleep(0.1)
            if working == {item: "b" for item in ITEMS}:
                break
        assert working == {item: "b" for item in ITEMS} and overlaps == []
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for bus in buses:
            await bus.close()


async def test_lease_rounds_leave_no_consumers_behind_on_the_server(nats_url):
    """A round must leave no consumer on the server: a KV watcher per round, kept 5 minutes after it, had a
    replica renewing every 2 s keep ~150 idle consumers (and their memory) in NATS."""
    bus = Bus(nats_url, name="counting")
    await bus.start()
    leases = Leases(bus, bucket="test_lease_rounds", replica="only", ttl=5, renew_every=0.2)
    task = asyncio.create_task(leases.run(ITEMS, lambda held: asyncio.sleep(0)))
    try:
        await asyncio.sleep(4)  # some 20 rounds
        assert set(leases.held) == set(ITEMS) and leases.members == 1
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        info = await bus.nc.jetstream().stream_info("KV_test_lease_rounds")
        assert info.state.consumer_count == 0
    finally:
        task.cancel()
        await bus.close()
