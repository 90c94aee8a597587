"""GET /api/blockchain/transactions/{address} through traefik: latency cached and uncached (p50/p99).

Starts the whole offline suite on free ports (chain-svc's explorers are the sandbox's listeners; the
address is the one whose 136 recorded transactions the sandbox's Etherscan V2 serves) and loads it with
wrk for --seconds at --connections concurrent connections (closed loop), wrk pinned to core 1.
Uncached: a wrk script asks every request for a window no request asked before (`offset` 0..85 at
`limit` 50, then at 49 ...), so each one misses the gateway's cache and goes gateway -> chain-svc ->
Etherscan (sandbox) -> mapping with Decimal -> back. Cached: one window, again and again, within the TTL.

    .venv/bin/python -m bench.chain [--seconds 10] [--connections 10]
"""

import argparse
import json
import os
import tempfile
from pathlib import Path

import httpx

from bench.gateway_cache import wrk
from devstack import Stack

ADDRESS = "0xA1E4380A3B1f749673E270229993eE55F35663b4"
PATH = f"/api/blockchain/transactions/{ADDRESS}"
# Each request a window of its own: 86 offsets per limit, limits 50 down to 1 (4,300 windows).
UNCACHED_LUA = """
local i = 0
request = function()
  local offset, limit = i % 86, 50 - math.floor(i / 86)
  i = i + 1
  if limit < 1 then error("out of uncached windows: lower --seconds") end
  return wrk.format("GET", "{path}?limit=" .. limit .. "&offset=" .. offset)
end
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=10)
    args = parser.parse_args()
    # A cached window stays fresh for the whole run; the sandbox's Etherscan takes any key; no budget stops it.
    os.environ.update({"GATEWAY_CACHE_TTL": json.dumps({"chain": 3600}), "CHAIN_ETHERSCAN_API_KEY": "sandbox-key",
                       "CHAIN_BUDGETS": json.dumps({"etherscan": 10_000_000})})
    with tempfile.TemporaryDirectory() as run_dir, Stack(run_dir, offline=True) as stack:
        url = stack.url("traefik") + PATH
        first = httpx.get(url, params={"limit": 50}, timeout=30).json()
        assert first["success"] and first["source"] == "etherscan" and first["count"] == 50, first
        script = Path(run_dir) / "uncached.lua"
        script.write_text(UNCACHED_LUA.replace("{path}", PATH))
        results = {"uncached": wrk(url, args.seconds, args.connections, script=str(script)),
                   "cached": wrk(f"{url}?limit=50", args.seconds, args.connections)}
    print(f"GET {PATH}?limit=50 through traefik, wrk -t1 -c{args.connections} -d{args.seconds}s")
    print(f"{'':10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for name, r in results.items():
        print(f"{name:10}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['non_2xx']:>10}")
    print(json.dumps({"path": PATH, **results}))


if __name__ == "__main__":
    main()
