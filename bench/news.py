"""news-svc figures: scoring throughput of the bundled sentiment model, and /api/news/latest latency through
traefik and the gateway under concurrent load, cached and uncached (read from MongoDB).

Scoring: the validation split's 2,388 texts scored three times over with `Scorer.predict` (no cache), in
batches of 1, 64 and 256, in this process (torch's default threads: both cores).
Latency: the offline suite (Redis, NATS, mongo-wire, sandbox, market-svc, news-svc, gateway, traefik) on free
ports; once the poller has stored the recorded articles, `--requests` GETs from `--concurrency` clients:
"uncached" gives every request its own cache key (distinct `limit`/`category`/`sentiment`), so each is read
from MongoDB by news-svc; "cached" repeats one key the gateway holds.

    .venv/bin/python -m bench.news [--requests 2000] [--concurrency 20] [--skip-latency]
"""

import argparse
import asyncio
import itertools
import json
import os
import statistics
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


def scoring() -> dict:
    """Headlines per second of the bundled model at three batch sizes."""
    texts, _ = read_split("valid")
    texts = texts * 3
    results = {}
    for batch in (1, 64, 256):
        scorer = Scorer(load(str(BUNDLED)), batch_size=batch)
        sample = texts if batch > 1 else texts[:500]
        scorer.predict(sample[:batch * 2])  # warm-up
        started = time.perf_counter()
        scorer.predict(sample)
        results[batch] = round(len(sample) / (time.perf_counter() - started))
        scorer.close()
    return results


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered), 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
            "max_ms": round(ordered[-1], 2)}


async def load_test(base: str, paths: list[str], concurrency: int) -> tuple[dict, int]:
    """Latency of GETting `paths` from `concurrency` clients; and how many did not answer 200."""
    queue = iter(paths)
    latencies, failures = [], 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failures
        for path in queue:
            started = time.perf_counter()
            response = await client.get(path)
            latencies.append((time.perf_counter() - started) * 1000)
            failures += response.status_code != 200

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return percentiles(latencies), failures


def latency(requests: int, concurrency: int) -> dict:
    """p50/p99 of /api/news/latest through traefik, uncached and cached."""
    os.environ.update(ENV)
    with tempfile.TemporaryDirectory() as run_dir, Stack(run_dir, offline=True, components=COMPONENTS) as stack:
        base = stack.url("traefik")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            total = httpx.get(base + "/api/news/latest", params={"language": "all", "limit": 1}).json().get("total", 0)
            if total >= 90:
                break
            time.sleep(1)
        variants = itertools.product(range(1, 101), ("all", "bitcoin", "ethereum", "defi"),
                                     ("", "&sentiment=positive", "&sentiment=negative", "&sentiment=neutral"),
                                     ("all", "en"))
        unique = [f"/api/news/latest?limit={limit}&category={category}&language={language}{sentiment}"
                  for limit, category, sentiment, language in variants][:requests]
        cold, cold_failed = asyncio.run(load_test(base, unique, concurrency))
        hot_path = "/api/news/latest?limit=10"
        httpx.get(base + hot_path)
        hot, hot_failed = asyncio.run(load_test(base, [hot_path] * requests, concurrency))
        return {"stored_articles": total, "uncached": {**cold, "non_200": cold_failed},
                "cached": {**hot, "non_200": hot_failed}, "concurrency": concurrency}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    rates = scoring()
    print("bundled model, headlines/s by batch size: " + ", ".join(f"{b}: {r:,}" for b, r in rates.items()))
    result = {"scoring_headlines_per_s": rates}
    if not args.skip_latency:
        figures = latency(args.requests, args.concurrency)
        for kind in ("uncached", "cached"):
            r = figures[kind]
            print(f"/api/news/latest {kind}: {r['n']} requests, {args.concurrency} concurrent: p50 {r['p50_ms']} ms, "
                  f"p99 {r['p99_ms']} ms, max {r['max_ms']} ms, non-200 {r['non_200']}")
        result["latency"] = figures
    print(json.dumps(result))


if __name__ == "__main__":
    main()
