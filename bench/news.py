"""news-svc figures: scoring throughput of the bundled sentiment model, and /api/news/latest latency through
traefik and the gateway under concurrent load, cached and uncached (read from MongoDB).

Scoring: the validation split's 2,388 texts scored three times over with `Scorer.predict` (no cache), in
batches of 1, 64 and 256, in this process, with `--threads` torch threads (news-svc's default: 1).
Latency: the offline suite (Redis, NATS, mongo-wire, sandbox, market-svc, news-svc, gateway, traefik) on free
ports; once the poller has stored the recorded articles, wrk (`-t1 -c<connections> -d<seconds>s`) through
traefik: "uncached" gives every request its own cache key (`since=<n>`, all articles match), so each is read
from MongoDB by news-svc; "cached" repeats one key the gateway holds. Nothing is pinned: every process
shares the machine's two cores with wrk.

    .venv/bin/python -m bench.news [--seconds 15] [--connections 20] [--threads 1] [--skip-latency]
"""

import argparse
import json
import os
import re
import subprocess
import tempfile
import time

import httpx

from devstack import Stack
from news_svc.sentiment.scorer import BUNDLED, Scorer, load
from scripts.sentiment_data import read_split

COMPONENTS = ["redis", "nats", "mongo", "sandbox", "market", "news", "gateway", "traefik"]
ENV = {"NEWS_POLL_SECONDS": json.dumps({"rss": 2, "cryptopanic": 2, "newsapi": 2, "alternative_me": 5,
                                        "components": 30}),
       "NEWS_CRYPTOPANIC_API_KEY": "bench", "NEWS_NEWSAPI_API_KEY": "bench",
       "NEWS_BUDGETS": json.dumps({"cryptopanic": 100_000, "newsapi": 100_000})}


def scoring(threads: int) -> dict:
    """Headlines per second of the bundled model at three batch sizes."""
    texts, _ = read_split("valid")
    texts = texts * 3
    results = {}
    for batch in (1, 64, 256):
        scorer = Scorer(load(str(BUNDLED)), batch_size=batch, threads=threads)
        sample = texts if batch > 1 else texts[:500]
        scorer.predict(sample[:batch * 2])  # warm-up
        started = time.perf_counter()
        scorer.predict(sample)
        results[batch] = round(len(sample) / (time.perf_counter() - started))
        scorer.close()
    return results


UNIQUE_PATHS = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/api/news/latest?limit=10&language=all&since=" .. counter)
end
"""


def wrk(url: str, seconds: int, connections: int, script: str | None = None) -> dict:
    """requests/s and latency percentiles (ms) of one wrk run; `script` is Lua that shapes each request."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        if script:
            lua.write(script)
            lua.flush()
            command += ["-s", lua.name]
        out = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    percentiles = {label: float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
                   for label, value, unit in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "p50_ms": percentiles["50"], "p90_ms": percentiles["90"], "p99_ms": percentiles["99"],
            "non_2xx": int(errors.group(1)) if errors else 0}


def latency(seconds: int, connections: int) -> dict:
    """/api/news/latest through traefik and the gateway: every request its own cache key (read from MongoDB by
    news-svc), then one key the gateway holds."""
    os.environ.update(ENV)
    with tempfile.TemporaryDirectory() as run_dir, Stack(run_dir, offline=True, components=COMPONENTS) as stack:
        deadline, total = time.monotonic() + 180, 0
        while time.monotonic() < deadline and total < 90:  # asked of news-svc itself: the gateway caches
            time.sleep(1)
            total = httpx.get(stack.url("news") + "/v1/news/latest", params={"language": "all"}).json()["total"]
        base = stack.url("traefik")
        cold = wrk(base + "/api/news/latest", seconds, connections, UNIQUE_PATHS)
        hot_url = base + "/api/news/latest?limit=10"
        httpx.get(hot_url)
        hot = wrk(hot_url, seconds, connections)
        return {"stored_articles": total, "uncached": cold, "cached": hot, "connections": connections,
                "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for scoring (news-svc uses 1)")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    rates = scoring(args.threads)
    print("bundled model, headlines/s by batch size: " + ", ".join(f"{b}: {r:,}" for b, r in rates.items()))
    result = {"scoring_headlines_per_s": rates}
    if not args.skip_latency:
        figures = latency(args.seconds, args.connections)
        for kind in ("uncached", "cached"):
            r = figures[kind]
            print(f"/api/news/latest {kind} ({figures['stored_articles']} articles stored): {r['requests']} requests "
                  f"from {args.connections} connections in {args.seconds}s, {r['rps']:.0f}/s: "
                  f"p50 {r['p50_ms']:.1f} ms, p90 {r['p90_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
                  f"non-2xx {r['non_2xx']}")
        result["latency"] = figures
    print(json.dumps(result))


if __name__ == "__main__":
    main()
