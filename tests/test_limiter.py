"""The rate limiter against a real Redis: exact limits shared by two limiters (two gateway replicas), a
window that slides, Retry-After that is right, one script call for a whole batch, and headers."""

import asyncio
import time

import pytest
import redis

from gateway.limiter import Limiter, Quota, Rate

from helpers import running_suite


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    with running_suite(tmp_path_factory.mktemp("limiter"), components=["redis"]) as stack:
        yield stack.url("redis")


@pytest.fixture
def fresh(redis_url):
    with redis.Redis.from_url(redis_url) as r:
        r.flushall()
    return redis_url


def test_rates_read_as_written():
    assert Rate.parse("100/minute") == Rate(100, 60) and Rate.parse("5/30seconds") == Rate(5, 30)
    assert Rate.parse("1000 / hour") == Rate(1000, 3600)
    with pytest.raises(ValueError):
        Rate.parse("fast")


async def test_two_replicas_share_one_exact_limit(fresh):
    quota = (Quota("ip", "ip:192.0.2.1", Rate(10, 60)),)
    one, two = Limiter(fresh), Limiter(fresh)
    try:
        decisions = [await (one if i % 2 else two).check(quota) for i in range(12)]
        assert [d.allowed for d in decisions] == [True] * 10 + [False] * 2
        assert [d.remaining for d in decisions[:10]] == list(range(9, -1, -1))
        refused = decisions[-1]
        assert 58 <= refused.seconds <= 60  # until the first request leaves the window
        headers = dict(refused.headers(quota))
        assert headers[b"ratelimit"] == b'"ip";r=0;t=' + str(int(-(-refused.seconds // 1))).encode()
        assert headers[b"ratelimit-policy"] == b'"ip";q=10;w=60'
    finally:
        await one.close()
        await two.close()


async def test_the_window_slides_and_a_refusal_is_not_counted(fresh):
    quota = (Quota("ip", "ip:192.0.2.2", Rate(3, 3)),)  # 3 per 3 s: buckets of 50 ms
    limiter = Limiter(fresh)
    try:
        assert all([(await limiter.check(quota)).allowed for _ in range(3)])
        refused = await limiter.check(quota)
        assert not refused.allowed and 2.5 < refused.seconds <= 3.05
        for _ in range(20):  # hammering while refused does not push the window out
            assert not (await limiter.check(quota)).allowed
        await asyncio.sleep(refused.seconds + 0.1)
        assert (await limiter.check(quota)).allowed
    finally:
        await limiter.close()


async def test_a_route_limit_refuses_without_spending_the_callers_own(fresh):
    own, route = Quota("key", "key:abc", Rate(100, 60)), Quota("/api/ai/analyze", "key:abc", Rate(2, 60))
    limiter = Limiter(fresh)
    try:
        results = [await limiter.check((own, route)) for _ in range(3)]
        assert [r.allowed for r in results] == [True, True, False]
        assert results[-1].quota == route and results[0].quota == route  # the tighter one is reported
        assert (await limiter.check((own,))).remaining == 97  # the refused one did not count
    finally:
        await limiter.close()


def script_calls(r: redis.Redis) -> int:
    stats = r.info("commandstats")
    return sum(stats.get(name, {}).get("calls", 0) for name in ("cmdstat_evalsha", "cmdstat_eval"))


async def test_a_burst_of_checks_is_one_round_trip_per_batch_and_exact(fresh):
    limiter = Limiter(fresh)
    quota = (Quota("ip", "ip:192.0.2.3", Rate(500, 60)),)
    try:
        with redis.Redis.from_url(fresh) as r:
            before = script_calls(r)
            started = time.perf_counter()
            decisions = await asyncio.gather(*(limiter.check(quota) for _ in range(700)))
            took = time.perf_counter() - started
            calls = script_calls(r) - before
        assert sum(d.allowed for d in decisions) == 500
        assert calls == 1, calls  # one caller's burst is one operation, not one call each
        assert took < 2
    finally:
        await limiter.close()


async def test_a_lease_answers_without_a_round_trip_and_gives_back_what_it_did_not_use(fresh):
    quota = (Quota("key", "key:lease", Rate(1000, 60)),)
    limiter = Limiter(fresh)
    try:
        with redis.Redis.from_url(fresh) as r:
            first = await limiter.check(quota)
            before = script_calls(r)
            for _ in range(7):  # the first lease holds 8 places
                assert (await limiter.check(quota)).allowed
            assert script_calls(r) == before
            assert first.remaining == 999 and int(r.hget("dm:rl:key:key:lease", "t")) == 8
            await limiter.check(quota)  # used up: a bigger lease
            assert int(r.hget("dm:rl:key:key:lease", "t")) == 8 + 16
            await asyncio.sleep(1.0)  # idle: what was not used goes back
            assert int(r.hget("dm:rl:key:key:lease", "t")) == 9
    finally:
        await limiter.close()


async def test_a_busy_callers_lease_is_renewed_before_it_runs_out_and_the_count_stays_exact(fresh):
    """A caller whose requests keep coming gets bigger leases, renewed when half used: after its first few
    leases no request waits for Redis, and Redis counts exactly the requests answered."""
    quota = (Quota("key", "key:busy", Rate(1_000_000, 60)),)
    limiter = Limiter(fresh)
    waited = []
    try:
        with redis.Redis.from_url(fresh) as r:
            before = script_calls(r)
            for i in range(5000):
                if limiter.leased(quota) is None:
                    waited.append(i)
                    assert (await limiter.check(quota)).allowed
                if i % 25 == 0:
                    await asyncio.sleep(0.002)  # other requests' turns: Redis's answers come in
            calls = script_calls(r) - before
            assert waited and max(waited) < 100, waited
            assert calls < 5000 / 64, calls  # leases grew to hundreds of places
            await asyncio.sleep(1.0)  # idle: the rest of the lease goes back
            assert int(r.hget("dm:rl:key:key:busy", "t")) == 5000
    finally:
        await limiter.close()


async def test_two_replicas_with_leases_refuse_exactly_the_request_past_the_limit(fresh):
    quota = (Quota("ip", "ip:192.0.2.9", Rate(100, 60)),)
    one, two = Limiter(fresh), Limiter(fresh)
    try:
        decisions = [await (one if i % 3 else two).check(quota) for i in range(101)]
        assert [d.allowed for d in decisions] == [True] * 100 + [False]
        with redis.Redis.from_url(fresh) as r:
            assert int(r.hget("dm:rl:ip:ip:192.0.2.9", "t")) == 100
    finally:
        await one.close()
        await two.close()


async def test_without_redis_it_fails_open_or_closed_as_set(fresh):
    for fail_open in (True, False):
        limiter = Limiter("redis://127.0.0.1:1/0", fail_open=fail_open)
        try:
            decision = await limiter.check((Quota("ip", "ip:x", Rate(1, 60)),))
            assert decision.allowed is fail_open and decision.headers(()) == []
        finally:
            await limiter.close()


async def test_under_a_random_load_from_two_replicas_every_check_is_decided_and_none_passes_the_limit(fresh):
    """Many callers, bursts and pauses (so leases are taken, used up, given back and retried): every check
    gets its decision within a second and a half, and no caller is allowed more than its limit."""
    import random

    rng = random.Random(3)
    replicas = [Limiter(fresh), Limiter(fresh)]
    callers = [(Quota("ip", f"ip:198.51.100.{i}", Rate(10, 60)),) for i in range(60)]
    allowed, asked = dict.fromkeys(callers, 0), dict.fromkeys(callers, 0)
    slow = []

    async def one(limiter: Limiter, quotas) -> None:
        asked[quotas] += 1
        started = time.monotonic()
        decision = await asyncio.wait_for(limiter.check(quotas), 5)
        if time.monotonic() - started > 1.5:
            slow.append(time.monotonic() - started)
        allowed[quotas] += decision.allowed

    try:
        pending = []
        until = time.monotonic() + 6
        while time.monotonic() < until:
            for _ in range(rng.randint(1, 40)):
                pending.append(asyncio.ensure_future(one(rng.choice(replicas), rng.choice(callers))))
            await asyncio.sleep(rng.choice((0.0, 0.01, 0.05, 0.3, 0.7)))
        await asyncio.gather(*pending)
    finally:
        for limiter in replicas:
            await limiter.close()
    assert not slow
    # Exact: a caller is refused only past its limit, whichever replica it asked.
    assert {q: allowed[q] for q in callers} == {q: min(asked[q], 10) for q in callers}



async def test_one_callers_requests_with_and_without_a_route_limit_share_its_own_limit_exactly(fresh):
    """Two kinds of request of one caller (an open read, and a route with its own limit) take leases of the
    caller's own quota side by side: giving one back never returns places the other still holds."""
    own = Quota("ip", "ip:192.0.2.77", Rate(30, 60))
    plain, routed = (own,), (own, Quota("/api/ai/analyze", "ip:192.0.2.77", Rate(1000, 60)))
    limiter = Limiter(fresh)
    allowed = 0
    try:
        for burst in range(8):
            for quotas in (plain, routed, plain):
                decisions = await asyncio.gather(*(limiter.check(quotas) for _ in range(2)))
                allowed += sum(d.allowed for d in decisions)
            await asyncio.sleep(0.8 if burst % 2 else 0.1)  # some leases go idle and are given back
    finally:
        await limiter.close()
    assert allowed == 30  # 48 asked
