"""The contract every upstream adapter satisfies, whatever it calls (REST, ccxt, feeds, an SDK).

An adapter is the one place an upstream's payloads are mapped into the suite's own types; its calls go
through its `Guard`. Services list their adapters, and /health reports each one the same way.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable

from dm_shared.breaker import BreakerState, CircuitBreaker
from dm_shared.errors import UpstreamBadResponseError
from dm_shared.health import DEGRADED, DOWN, OK, SKIPPED, SOURCE, component


@runtime_checkable
class Adapter(Protocol):
    """An upstream as a service sees it."""

    name: str
    breaker: CircuitBreaker
    # Whether the upstream needs an API key at all, and whether one is configured: an adapter that
    # needs a key and has none is skipped by the fallback chains and shown as skipped in /health.
    needs_key: bool
    keyed: bool

    async def close(self) -> None:
        """Release the adapter's connections."""


_BREAKER_STATUS = {BreakerState.CLOSED: OK, BreakerState.HALF_OPEN: DEGRADED, BreakerState.OPEN: DOWN}


def source_health(adapter: Adapter, key_setting: str | None = None) -> dict[str, Any]:
    """One adapter's /health component: skipped without its key, else by its breaker (open: down)."""
    if adapter.needs_key and not adapter.keyed:
        reason = f"{key_setting} is not set" if key_setting else "no API key is configured"
        return component(SOURCE, {"status": SKIPPED, "reason": reason})
    state = adapter.breaker.state
    return component(SOURCE, {"status": _BREAKER_STATUS[state], "breaker": state.value})


@contextmanager
def reading(upstream: str, what: str) -> Iterator[None]:
    """Map an upstream payload inside this block: a payload of the wrong shape is UPSTREAM_BAD_RESPONSE."""
    try:
        yield
    except (KeyError, IndexError, TypeError, ValueError) as exc:  # ValueError covers pydantic's ValidationError
        raise UpstreamBadResponseError(f"{upstream} {what} could not be read ({type(exc).__name__})",
                                       details={"upstream": upstream}) from exc
