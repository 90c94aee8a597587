"""A service that misses a health probe's deadline is busy before it is gone; one that refuses is gone."""

import time

from gateway.health import slow_or_down

TIMED_OUT = {"status": "unhealthy", "latency_ms": 2000.0, "error": "TimeoutError: "}
REFUSED = {"status": "unhealthy", "latency_ms": 1.2, "error": "ConnectError: All connection attempts failed"}


def test_a_missed_deadline_is_degraded_until_the_grace_runs_out_then_unhealthy():
    first = slow_or_down("slow-svc", TIMED_OUT, grace=0.2)
    assert first["status"] == "degraded" and "busy" in first["error"]
    time.sleep(0.25)
    later = slow_or_down("slow-svc", TIMED_OUT, grace=0.2)
    assert later["status"] == "unhealthy" and later["error"].startswith("no answer for")


def test_an_answer_in_time_starts_the_grace_again():
    slow_or_down("busy-svc", TIMED_OUT, grace=0.2)
    time.sleep(0.25)
    assert slow_or_down("busy-svc", {"status": "healthy", "latency_ms": 3.0}, grace=0.2)["status"] == "healthy"
    assert slow_or_down("busy-svc", TIMED_OUT, grace=0.2)["status"] == "degraded"


def test_a_refused_connection_is_unhealthy_at_once():
    assert slow_or_down("gone-svc", REFUSED, grace=10)["status"] == "unhealthy"
