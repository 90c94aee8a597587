"""Cached GET /api/price/{symbol}: latency at a stated load, through traefik and at the gateway.

Starts the whole offline suite on free ports, asks once for /api/price/BTC (a consensus over Binance,
KuCoin, OKX and CoinGecko, then cached for spec 002's 5 s), and loads it with wrk for --seconds at
--connections concurrent connections (closed loop: each connection sends its next request when the
answer arrives). The gateway is pinned to core 0 and wrk to core 1. Spec 002's target for price
endpoints is 100 ms.

    .venv/bin/python -m bench.price_cache [--seconds 10] [--connections 20]
"""

import argparse
import json
import tempfile

import httpx

from bench.gateway_cache import pin, wrk
from devstack import Stack

TARGET_MS = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=20)
    args = parser.parse_args()
    path = "/api/price/BTC"
    with tempfile.TemporaryDirectory() as run_dir, Stack(run_dir, offline=True) as stack:
        pin(stack.pid("gateway"), 0)
        first = httpx.get(stack.url("traefik") + path, timeout=30).json()
        assert first["success"], first
        results = {}
        for name in ("traefik", "gateway"):
            url = stack.url(name) + path
            wrk(url, 2, args.connections)  # warm-up
            results[name] = wrk(url, args.seconds, args.connections)
    print(f"cached GET {path} (consensus of {len(first['consensus']['sources'])} sources), "
          f"wrk -t1 -c{args.connections} -d{args.seconds}s")
    print(f"{'':10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for name, r in results.items():
        print(f"{name:10}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['non_2xx']:>10}")
    print(f"target: p99 under {TARGET_MS} ms -> "
          f"{'met' if all(r['p99_ms'] < TARGET_MS for r in results.values()) else 'NOT met'}")
    print(json.dumps({"path": path, **results}))


if __name__ == "__main__":
    main()
