"""Benchmarks of the suite (figures and commands in docs/benchmarks.md).

A benchmark's load comes from one client address, far beyond the edge's 100 requests a minute per address:
the benchmarks raise that limit (unless a run sets it), so every request is still counted by the rate
limiter in Redis, and none is refused. bench.soak runs with the edge's own limits.
"""

import os

os.environ.setdefault("GATEWAY_RATE_ANONYMOUS", "1000000000/minute")
