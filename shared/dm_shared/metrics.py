"""Prometheus metrics of a service.

Request counts and latencies are kept in plain dicts and handed to Prometheus by a collector at
scrape time: the event loop is one thread, and prometheus_client's locked counters cost more per
request than the gateway's whole cache hit.
"""

import bisect
import weakref
from collections import defaultdict

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from starlette.responses import Response
from starlette.types import Scope

UPSTREAM_CALLS = Counter("dm_upstream_calls_total", "Calls to upstream APIs", ["upstream", "outcome"])
UPSTREAM_LATENCY = Histogram("dm_upstream_call_seconds", "Upstream call latency", ["upstream"])

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class LoopCounter:
    """A counter family incremented from the event loop thread only, read out at scrape time."""

    def __init__(self, name: str, documentation: str, labels: list[str]):
        self.name, self.documentation, self.labels = name, documentation, labels
        self.counts: defaultdict[tuple, int] = defaultdict(int)
        REGISTRY.register(self)

    def inc(self, *labels) -> None:
        self.counts[labels] += 1

    def collect(self):
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        for labels, count in list(self.counts.items()):
            family.add_metric([str(label) for label in labels], count)
        yield family


class RequestMetrics:
    """dm_http_requests_total{route,method,status} and dm_http_request_seconds{route}, lock-free."""

    def __init__(self) -> None:
        self.counts = LoopCounter("dm_http_requests", "HTTP requests served", ["route", "method", "status"])
        self.buckets: defaultdict[str, list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self.sums: defaultdict[str, float] = defaultdict(float)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one request (call from the event loop thread only)."""
        self.counts.counts[route, method, status] += 1
        self.buckets[route][bisect.bisect_left(BUCKETS, seconds)] += 1
        self.sums[route] += seconds

    def collect(self):
        latency = HistogramMetricFamily("dm_http_request_seconds", "HTTP request latency", labels=["route"])
        for route, counts in list(self.buckets.items()):
            cumulative, running = [], 0
            for bound, count in zip((*map(str, BUCKETS), "+Inf"), counts, strict=True):
                running += count
                cumulative.append((bound, running))
            latency.add_metric([route], cumulative, self.sums[route])
        yield latency


REQUESTS = RequestMetrics()
REGISTRY.register(REQUESTS)
CACHE_EVENTS = LoopCounter("dm_cache_events", "Cache lookups by result", ["result"])


class CacheTiers:
    """dm_cache_l1_entries and dm_cache_l1_bytes: what the in-process tiers of this process's caches hold now
    (read at scrape time from each cache; a cache registers itself when made)."""

    def __init__(self) -> None:
        self.caches: weakref.WeakSet = weakref.WeakSet()
        REGISTRY.register(self)

    def collect(self):
        caches = list(self.caches)
        yield GaugeMetricFamily("dm_cache_l1_entries", "Entries held by the in-process cache tier",
                                value=sum(cache.l1_entries for cache in caches))
        yield GaugeMetricFamily("dm_cache_l1_bytes", "Body bytes held by the in-process cache tier",
                                value=sum(cache.l1_bytes for cache in caches))


CACHE_TIERS = CacheTiers()


def route_label(scope: Scope) -> str:
    """The route template a request matched (bounded cardinality), or `unmatched`."""
    route = scope.get("route")
    path = getattr(route, "path", None) or scope.get("dm.route")
    return path or "unmatched"


def metrics_response() -> Response:
    """The Prometheus exposition of this process."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
