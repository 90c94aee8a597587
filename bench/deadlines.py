"""Every market route at once with every upstream hung: how long each takes to answer, against its deadline.

Starts the offline suite (market-svc, gateway, traefik, the sandbox as every upstream) on free ports, warms
nothing, makes the sandbox hold every upstream's answers for 30 s (its `delay` fault), then sends the 12
market routes at the same time, through traefik and straight to market-svc, --rounds times each (a fresh
`nonce` per round, so no answer is cached). A route's deadline is MARKET_DEADLINE_SECONDS (3 s), `/price`'s
MARKET_PRICE_BUDGET_MS (1 s); the figure is the slowest answer of a round and the spread of the others.

    .venv/bin/python -m bench.deadlines [--rounds 3]
"""

import argparse
import asyncio
import tempfile
import time

import httpx

from devstack import Stack

UPSTREAMS = ("coingecko", "binance", "kucoin", "okx", "coinpaprika")
COMPONENTS = ["redis", "nats", "mongo", "sandbox", "market", "gateway", "traefik"]


def routes(now_ms: int) -> dict[str, dict]:
    """The market routes and their parameters (a history window holding daily boundaries, after 2009)."""
    return {"/market": {"limit": 7}, "/ohlcv": {"symbol": "BTC/USDT", "timeframe": "1h", "limit": 7},
            "/price/BTC": {"convert": "usd"}, "/ticker/BTC": {}, "/orderbook/BTC": {"limit": 7},
            "/trades/BTC": {"limit": 7}, "/exchange-info": {"exchange": "okx"}, "/stats": {},
            "/stats/dominance": {}, "/history/price/BTC": {"from": now_ms - 3 * 86_400_000, "to": now_ms},
            "/derivatives/funding/BTC": {}, "/derivatives/open-interest/BTC": {}}


async def round_of(base: str, prefix: str, nonce: int) -> list[tuple[float, str, int]]:
    """(seconds, route, status) of every route asked at once, slowest last."""
    asked = routes(int(time.time() * 1000))
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        async def timed(route: str) -> tuple[float, str, int]:
            started = time.monotonic()
            response = await client.get(prefix + route, params={**asked[route], "nonce": nonce})
            return time.monotonic() - started, route, response.status_code
        return sorted(await asyncio.gather(*(timed(route) for route in asked)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with (tempfile.TemporaryDirectory() as run_dir, Stack(run_dir, offline=True, components=COMPONENTS) as stack,
          httpx.Client(base_url=stack.url("sandbox"), timeout=10) as control):
        for upstream in UPSTREAMS:
            control.post("/_sandbox/faults", json={"upstream": upstream, "mode": "delay", "delay": 30}
                         ).raise_for_status()
        for nonce in range(args.rounds):
            for name, base, prefix in (("traefik", stack.url("traefik"), "/api"),
                                       ("market-svc", stack.url("market"), "/v1")):
                answers = asyncio.run(round_of(base, prefix, nonce))
                price = next(a for a in answers if a[1] == "/price/BTC")
                others = [a for a in answers if a[1] != "/price/BTC"]
                print(f"round {nonce + 1} {name:>10}: /price {price[0]:.2f} s ({price[2]}); the other 11 "
                      f"{others[0][0]:.2f}-{others[-1][0]:.2f} s (slowest {others[-1][1]}), statuses "
                      f"{sorted({a[2] for a in others})}", flush=True)
        control.delete("/_sandbox/faults").raise_for_status()


if __name__ == "__main__":
    main()
