"""Cached GET /api/market through the gateway against a bare uvicorn endpoint returning the same bytes.

Starts the offline suite (Redis, NATS, mongo-wire, sandbox, market-svc, gateway) on free ports and a bare
uvicorn app (one uvicorn process each on uvloop and httptools; the gateway as devstack and compose run it,
with its hit path in the HTTP protocol, gateway/hotpath.py). The server under test is pinned to core 0 and wrk to
core 1. Each round runs bare then gateway back to back; the machine's speed drifts between rounds on a
shared host, so the headline is the median of the per-round ratios, next to the median requests/s, p50
and p99 of each, and the server's CPU time per request (steadier than requests/s on a noisy host). The
target is gateway >= 0.8x bare with the rate limiter on: every request counted in Redis under a key whose
limit the run cannot reach (--no-limiter for the gateway without it).

    .venv/bin/python -m bench.gateway_cache [--seconds 5] [--rounds 9] [--connections 50] [--limit 100]
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.procstat import cpu_seconds
from devstack import Stack
from devstack.ports import allocate

COMPONENTS = ["redis", "nats", "mongo", "sandbox", "market", "gateway"]


def pin(pid: int, core: int) -> None:
    """Pin every thread of `pid` to one core."""
    subprocess.run(["taskset", "-a", "-p", "-c", str(core), str(pid)], check=True, capture_output=True)


def wrk(url: str, seconds: int, connections: int, pid: int | None = None, key: str | None = None,
        script: str | None = None) -> dict[str, float]:
    """requests/s, latency percentiles (ms) and the server's CPU µs per request from one wrk run on core 1
    (`key`: an API key sent with each request; `script`: a wrk Lua script file that writes each request)."""
    cpu_before = cpu_seconds(pid) if pid else 0.0
    extra = (["-H", f"X-API-Key: {key}"] if key else []) + (["-s", script] if script else [])
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                          *extra, url], check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    percentiles = {}
    for label, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        percentiles[label] = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    result = {"rps": rps, "p50_ms": percentiles["50"], "p99_ms": percentiles["99"],
              "non_2xx": int(errors.group(1)) if errors else 0}
    if pid:
        result["cpu_us"] = (cpu_seconds(pid) - cpu_before) / requests * 1e6
    return result


def create_key(stack: Stack) -> str:
    out = subprocess.run([sys.executable, "-m", "gateway.keys", "create", "--name", "bench", "--rate",
                          "1000000000/minute"], env={**os.environ, "MONGO_URL": stack.url("mongo")},
                         capture_output=True, text=True, check=True).stdout
    time.sleep(1.5)  # the gateway reads new keys every second
    return next(line.split()[1] for line in out.splitlines() if line.startswith("key "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--limit", type=int, default=100, help="items in the /api/market answer")
    parser.add_argument("--no-limiter", action="store_true",
                        help="the gateway without rate limits (GATEWAY_RATE_LIMITS=false)")
    args = parser.parse_args()
    path = f"/api/market?limit={args.limit}"
    if args.no_limiter:
        os.environ["GATEWAY_RATE_LIMITS"] = "false"
    with tempfile.TemporaryDirectory() as run_dir, Stack(run_dir, offline=True, components=COMPONENTS) as stack:
        gateway_url = stack.url("gateway") + path
        # A key whose limit the run cannot reach: every request is still counted in Redis.
        key = None if args.no_limiter else create_key(stack)
        headers = {"X-API-Key": key} if key else {}
        body = httpx.get(gateway_url, timeout=30, headers=headers).content  # fills the cache
        body_file = Path(run_dir) / "body.json"
        body_file.write_bytes(httpx.get(gateway_url, headers=headers).content)
        port = allocate({"bare": 1})["bare"]
        bare = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port), "--no-access-log",
             "--log-level", "warning"],
            cwd=Path(__file__).resolve().parents[1], env={**os.environ, "BENCH_BODY_FILE": str(body_file)})
        try:
            bare_url = f"http://127.0.0.1:{port}{path}"
            for _ in range(100):
                try:
                    httpx.get(bare_url)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            pin(bare.pid, 0)
            pin(stack.pid("gateway"), 0)
            wrk(bare_url, 2, args.connections, key=key), wrk(gateway_url, 2, args.connections, key=key)  # warm-up
            runs = {"bare": [], "gateway": []}
            for _ in range(args.rounds):
                runs["bare"].append(wrk(bare_url, args.seconds, args.connections, bare.pid, key=key))
                runs["gateway"].append(wrk(gateway_url, args.seconds, args.connections, stack.pid("gateway"), key=key))
            results = {name: {key: statistics.median(r[key] for r in rs) for key in rs[0]} for name, rs in runs.items()}
            ratios = [g["rps"] / b["rps"] for b, g in zip(runs["bare"], runs["gateway"], strict=True)]
        finally:
            bare.terminate()
            bare.wait()
    ratio = statistics.median(ratios)
    print(f"cached GET {path}: {len(body)} bytes, wrk -t1 -c{args.connections} -d{args.seconds}s, "
          f"medians of {args.rounds} rounds, rate limits {'off' if args.no_limiter else 'on (a keyed caller)'}")
    print(f"{'':10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'CPU µs/req':>12}{'non-2xx':>10}")
    for name, r in results.items():
        print(f"{name:10}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['cpu_us']:>12.1f}"
              f"{r['non_2xx']:>10}")
    print(f"gateway / bare, median of per-round ratios = {ratio:.2f} (target >= 0.80 with the limiter); "
          f"range {min(ratios):.2f}-{max(ratios):.2f}")
    print(json.dumps({"path": path, "bytes": len(body), "limiter": not args.no_limiter, **results,
                      "ratio": round(ratio, 3),
                      "ratios": [round(r, 3) for r in ratios]}))


if __name__ == "__main__":
    main()
