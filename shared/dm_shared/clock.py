"""The suite's one unit of time on the wire: unix milliseconds."""

import time


def now_ms() -> int:
    """Current wall-clock time in unix milliseconds, the suite's `timestamp` unit."""
    return time.time_ns() // 1_000_000
