"""Soak: minutes of mixed load through traefik with the edge on, and every process's memory watched.

Starts the whole offline suite (every service, the gateway, traefik) with the edge's default limits, then:
- REST from many client identities (each its own loopback address 127.0.N.M, which traefik forwards as the
  client address), each under its 100/minute: cached reads (the same market page, price and ticker) and
  uncached ones (a different market limit, order book depth or candle count each time);
- keyed clients, each under its key's 1,000/minute;
- one client deliberately over its limit (150/minute, in bursts of 25), whose 429s are the only errors
  expected;
- websocket clients subscribed to tickers and trades, from addresses holding at most their cap each.

Every answer is counted by kind and status; every ws client's unexpected close is an error. The resident
memory of every process of the suite is sampled every 10 s; the headline is its growth from minute 2 to the
end. Targets: 0 errors other than the intended 429s, every process growing less than 10 %.

    .venv/bin/python -m bench.soak [--minutes 10] [--identities 120] [--keys 6] [--ws 500] [--keep-logs DIR]
"""

import argparse
import asyncio
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter

import httpx
import redis.asyncio as aioredis
import websockets
from redis.exceptions import RedisError

from bench.procstat import rss_mb
from devstack import Stack
from devstack.catalogue import CATALOGUE
from devstack.supervisor import describe_exit

# The sandbox stands in for every upstream: no budget needs protecting here.
# The edge's own limits (bench/__init__.py raises the per-address one for the other benchmarks).
# A Python process that dies of a signal writes its stack to its log first (PYTHONFAULTHANDLER).
ENV = {"MARKET_BUDGETS": json.dumps({"coingecko": 1_000_000, "coinmarketcap": 1_000_000}),
       "GATEWAY_RATE_ANONYMOUS": "100/minute", "GATEWAY_RATE_KEYED": "1000/minute", "PYTHONFAULTHANDLER": "1"}
CACHED = ["/api/market?limit=20", "/api/price/BTC", "/api/ticker/ETH", "/api/stats", "/health"]


def uncached() -> str:
    """A request no cache holds yet (or for long): a fresh variant of a list or a book."""
    return random.choice([f"/api/market?limit={random.randint(1, 500)}",
                          f"/api/orderbook/BTC?limit={random.randint(1, 100)}",
                          f"/api/ohlcv?symbol=ETH/USDT&timeframe=1h&limit={random.randint(2, 1000)}",
                          f"/api/trades/BTC?limit={random.randint(1, 500)}"])


def address(index: int) -> str:
    return f"127.0.{2 + index // 250}.{1 + index % 250}"


class Tally:
    def __init__(self):
        self.answers: Counter = Counter()
        self.errors: Counter = Counter()
        self.latencies: list[float] = []
        self.ws_messages = 0


async def rest_client(base: str, source: str, per_minute: float, until: float, tally: Tally, kind: str,
                      headers: dict | None = None, over_limit: bool = False, burst: int = 1) -> None:
    """Requests at `per_minute` from one address (and key), half cached and half not, `burst` at once (so
    that a client meant to pass its limit passes it even when the machine is too busy to answer quickly)."""
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with httpx.AsyncClient(base_url=base, transport=transport, headers=headers, timeout=30) as http:

        async def one() -> None:
            path = random.choice(CACHED) if random.random() < 0.5 else uncached()
            started = time.monotonic()
            said = ""
            try:
                response = await http.get(path)
                status = response.status_code
                if status != 200:
                    said = who_said(response)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            tally.latencies.append(time.monotonic() - started)
            tally.answers[(kind, status)] += 1
            if status != 200 and not (over_limit and status == 429):
                tally.errors[(kind, path.split("?")[0], status, said)] += 1

        await asyncio.sleep(random.uniform(0, 60 * burst / per_minute))
        while time.monotonic() < until:
            started = time.monotonic()
            await asyncio.gather(*(one() for _ in range(burst)))
            await asyncio.sleep(max(0.0, 60 * burst / per_minute - (time.monotonic() - started)))


def who_said(response: httpx.Response) -> str:
    """The suite's error code, or, for an answer not in its envelope, the start of what came (traefik's own
    "Bad Gateway" when the gateway did not answer)."""
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return response.text[:40].strip()


async def ws_client(url: str, source: str, until: float, tally: Tally, channel: str) -> None:
    try:
        async with websockets.connect(url, local_addr=(source, 0), open_timeout=30) as ws:
            await ws.recv()
            await ws.send(json.dumps({"action": "subscribe", "channel": channel, "symbols": ["BTC/USDT", "ETH/USDT"]}))
            last_ping = time.monotonic()
            while time.monotonic() < until:
                try:
                    await asyncio.wait_for(ws.recv(), 5)
                    tally.ws_messages += 1
                except TimeoutError:
                    pass
                if time.monotonic() - last_ping > 20:
                    await ws.send(json.dumps({"action": "ping"}))
                    last_ping = time.monotonic()
    except (OSError, websockets.WebSocketException, TimeoutError) as exc:
        tally.errors[("ws", channel, type(exc).__name__)] += 1


async def sample_memory(stack: Stack, until: float, samples: dict[str, list[tuple[float, float]]],
                        stores: list[tuple[float, dict]], exits: dict[str, str]) -> None:
    """Every process's RSS every 10 s, and what the bounded stores hold (the gateway's in-process cache tier,
    Redis's keys by kind), to tell a store filling up from a leak; and when a process ended, and how."""
    started = time.monotonic()
    redis = aioredis.Redis.from_url(stack.url("redis"))
    async with httpx.AsyncClient(base_url=stack.url("gateway"), timeout=5) as gateway:
        while time.monotonic() < until:
            for name in stack.components:
                pid = stack.pid(name)
                if pid:
                    try:
                        samples.setdefault(name, []).append((time.monotonic() - started, rss_mb(pid)))
                    except FileNotFoundError:
                        pass
            for name, code in stack.exited().items():
                exits.setdefault(name, f"{describe_exit(code)} within 10 s before {time.monotonic() - started:.0f} s")
            try:
                stores.append((time.monotonic() - started, await held(gateway, redis)))
            except (httpx.HTTPError, RedisError):
                pass
            await asyncio.sleep(10)
    await redis.aclose()


async def held(gateway: httpx.AsyncClient, redis: aioredis.Redis) -> dict:
    """The gateway's in-process tier (MB, entries) and Redis's memory (MB) and keys by their first two parts."""
    metrics = (await gateway.get("/metrics")).text
    gauges = {line.split()[0]: float(line.split()[1]) for line in metrics.splitlines()
              if line.startswith(("dm_cache_l1_entries ", "dm_cache_l1_bytes "))}
    keys: Counter = Counter()
    async for key in redis.scan_iter(count=1000):
        keys[b":".join(key.split(b":")[:2]).decode(errors="replace")] += 1
    return {"gateway_l1_mb": round(gauges["dm_cache_l1_bytes"] / 2**20, 1),
            "gateway_l1_entries": int(gauges["dm_cache_l1_entries"]),
            "redis_used_mb": round((await redis.info("memory"))["used_memory"] / 2**20, 1), "redis_keys": dict(keys)}


def create_key(stack: Stack, index: int) -> str:
    out = subprocess.run([sys.executable, "-m", "gateway.keys", "create", "--name", f"soak-{index}",
                          "--scopes", "read"], env={**os.environ, "MONGO_URL": stack.url("mongo")},
                         capture_output=True, text=True, check=True).stdout
    return next(line.split()[1] for line in out.splitlines() if line.startswith("key "))


async def soak(stack: Stack, args) -> dict:
    base = stack.url("traefik")
    keys = [create_key(stack, i) for i in range(args.keys)]
    await asyncio.sleep(2)  # every replica reads new keys within a second
    tally, memory, stores, exits = Tally(), {}, [], {}
    until = time.monotonic() + args.minutes * 60
    ids = itertools.count()
    tasks = [rest_client(base, address(next(ids)), 80, until, tally, "anonymous") for _ in range(args.identities)]
    tasks += [rest_client(base, address(next(ids)), 800, until, tally, "keyed", {"X-API-Key": key}) for key in keys]
    tasks.append(rest_client(base, address(next(ids)), 150, until, tally, "over-limit", over_limit=True, burst=25))
    ws_url = base.replace("http://", "ws://") + "/ws"
    first_ws = next(ids) + 10
    tasks += [ws_client(ws_url, address(first_ws + i // 40), until, tally, "trades" if i % 2 else "ticker")
              for i in range(args.ws)]
    tasks.append(sample_memory(stack, until, memory, stores, exits))
    started = time.monotonic()
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    growth = {}
    for name, series in memory.items():
        at_two = statistics.median(mb for t, mb in series if 110 <= t <= 130) if any(
            110 <= t <= 130 for t, _ in series) else series[0][1]
        at_end = statistics.median(mb for _, mb in series[-3:])
        growth[name] = {"rss_mb_minute_2": round(at_two, 1), "rss_mb_end": round(at_end, 1),
                        "growth_pct": round(100 * (at_end - at_two) / at_two, 1),
                        # the curve, for telling a window filling up from a leak: RSS at each 5th minute
                        "rss_mb_every_5_min": [round(next(mb for t, mb in series if t >= mark), 1)
                                               for mark in range(0, int(series[-1][0]) + 1, 300)]}
    latencies = sorted(tally.latencies)
    return {"minutes": round(elapsed / 60, 2), "requests": len(latencies),
            "req_per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
            "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
            "answers": {f"{k}:{s}": n for (k, s), n in sorted(tally.answers.items(), key=str)},
            "errors": {" ".join(map(str, k)): n for k, n in tally.errors.items()},
            "ws_clients": args.ws, "ws_messages": tally.ws_messages, "exited": exits, "memory": growth,
            "stores_at_minute_2_and_end": [next((held for t, held in stores if t >= 120), None),
                                           stores[-1][1] if stores else None]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--identities", type=int, default=120)
    parser.add_argument("--keys", type=int, default=6)
    parser.add_argument("--ws", type=int, default=500)
    parser.add_argument("--keep-logs", metavar="DIR", help="run the suite in DIR and keep its logs there")
    args = parser.parse_args()
    os.environ.update(ENV)
    with tempfile.TemporaryDirectory() as scratch, Stack(args.keep_logs or scratch, offline=True,
                                                         catalogue=CATALOGUE) as stack:
        result = asyncio.run(soak(stack, args))
    print(json.dumps(result, indent=1))
    worst = max(result["memory"].items(), key=lambda item: item[1]["growth_pct"])
    print(f"{result['requests']} requests in {result['minutes']} min ({result['req_per_s']}/s), p50 "
          f"{result['p50_ms']} ms, p99 {result['p99_ms']} ms; {result['ws_clients']} websocket clients got "
          f"{result['ws_messages']} messages; errors other than the intended 429s: "
          f"{sum(result['errors'].values())}; largest RSS growth from minute 2: {worst[0]} "
          f"{worst[1]['growth_pct']} % (target < 10 %)"
          + (f"; ended during the run: {result['exited']}" if result["exited"] else ""))


if __name__ == "__main__":
    main()
