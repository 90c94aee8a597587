"""Fallback chains: ask each source in order, hedged, within the request's deadline, and say which one
answered and why the others did not.

A source that fails hands over to the next at once. A source that has not answered within its hedge
delay (from its own recent latency, bounded by its share of the time left) does not hold the request up:
the next source starts too, the first good answer wins and the others are cancelled. Past the deadline
the request ends with UPSTREAM_TIMEOUT (504), so a caller with a stale value can serve it instead.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from dm_shared.clock import now_ms
from dm_shared.deadline import Deadline
from dm_shared.errors import (
    ApiError,
    InvalidSymbolError,
    NotSupportedError,
    SourceUnsupportedError,
    UpstreamError,
    UpstreamRefusedError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from dm_shared.provenance import Attempt, Provenance

log = logging.getLogger("dm.fallback")
T = TypeVar("T")
A = TypeVar("A", bound="_Named")

# A hedge waits at least this (a venue answering in 30 ms does not get a competitor at 60 ms) and at most
# that (a venue without a latency history yet is not waited on for a whole share of a long deadline).
MIN_HEDGE_SECONDS, MAX_HEDGE_SECONDS = 0.25, 1.0
# Cancelled sources get this long to wind down before the answer goes out without them.
WIND_DOWN_SECONDS = 0.1


class _Named(Protocol):
    name: str


@dataclass
class Source(Generic[T]):
    """One step of a chain: a name users see in `source`, the call that fetches from it, and the seconds
    after which the next source starts beside it (None: only after it failed)."""

    name: str
    fetch: Callable[[], Awaitable[T]]
    hedge_after: float | None = None


def _hedge(adapter: Any) -> float | None:
    guard = getattr(adapter, "guard", None)
    return guard.latency.p95() if guard is not None else None


def source(adapter: Any, fetch: Callable[[], Awaitable[T]], name: str | None = None) -> Source[T]:
    """A source asking `adapter` with `fetch`, hedged after the adapter's recent p95 latency."""
    return Source(name or adapter.name, fetch, _hedge(adapter))


def each(adapters: Iterable[A], call: Callable[[A], Awaitable[T]]) -> list[Source[T]]:
    """One source per adapter, in order, each asking its adapter with `call`."""
    return [source(adapter, lambda adapter=adapter: call(adapter)) for adapter in adapters]


# Attempts that say the request cannot be served by that source at all, rather than not now.
_CANNOT = (SourceUnsupportedError.code, InvalidSymbolError.code, UpstreamRefusedError.code)


def no_answer(failed: list[Attempt], invalid: list[InvalidSymbolError],
              supported: Iterable[str] = ()) -> ApiError:
    """The one rule when every source failed. When none of them can serve the request at all: 404
    INVALID_SYMBOL with the symbols that are supported if one did not know the symbol, else 404
    NOT_SUPPORTED. Otherwise 503 with every attempt and, as Retry-After, the soonest a source said it may
    be asked again."""
    answered = [a for a in failed if a.code not in _CANNOT]
    if invalid and not answered:
        listed = {s for exc in invalid for s in exc.details.get("supported_symbols", [])} | set(supported)
        first = invalid[0]
        return InvalidSymbolError(first.message, details={**first.details, "supported_symbols": sorted(listed)})
    if failed and not answered:
        return NotSupportedError(details={"attempts": [a.to_dict() for a in failed]})
    waits = [a.retry_after for a in answered if a.retry_after is not None]
    details: dict[str, Any] = {"attempts": [a.to_dict() for a in failed]}
    if waits and len(waits) == len(answered):  # every source that answered said how long to wait
        details["retry_after"] = min(waits)
    return UpstreamUnavailableError("No source could answer this request", details=details)


def _hedge_delay(item: Source, deadline: Deadline | None, left: int) -> float | None:
    """When the next source starts beside `item`: its recent latency, within its share of the time left."""
    share = deadline.remaining() / max(1, left) if deadline is not None else None
    own = max(MIN_HEDGE_SECONDS, item.hedge_after) if item.hedge_after is not None else None
    candidates = [d for d in (own, share) if d is not None]
    return min(MAX_HEDGE_SECONDS, *candidates) if candidates else None


def _retrieve(task: asyncio.Task) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so a late failure logs no "never retrieved" warning


async def first_success(sources: list[Source[T]], *, deadline: Deadline | None = None,
                        supported: Iterable[str] = ()) -> tuple[T, Provenance]:
    """The first good answer of the chain, labelled; `no_answer` when every source failed, UPSTREAM_TIMEOUT
    when the deadline passed first."""
    failed: dict[int, Attempt] = {}
    invalid: list[InvalidSymbolError] = []
    running: dict[asyncio.Task, tuple[int, Source[T], float]] = {}
    loop = asyncio.get_running_loop()
    position = 0

    def start_next() -> None:
        nonlocal position
        item = sources[position]
        running[asyncio.create_task(item.fetch(), name=f"source-{item.name}")] = (position, item, loop.time())
        position += 1

    try:
        while running or position < len(sources):
            if deadline is not None and deadline.passed:
                break
            if not running:
                start_next()
            newest, item, started = max(running.values(), key=lambda entry: entry[0])
            hedge = _hedge_delay(item, deadline, len(sources) - newest) if position < len(sources) else None
            waits = [w for w in (deadline.remaining() if deadline is not None else None,
                                 started + hedge - loop.time() if hedge is not None else None) if w is not None]
            done, _ = await asyncio.wait(running, timeout=max(0.0, min(waits)) if waits else None,
                                         return_when=asyncio.FIRST_COMPLETED)
            for task in sorted(done, key=lambda t: running[t][0]):
                index, item, _ = running.pop(task)
                error = task.exception()
                if error is None:
                    for other in running.values():  # slower sources the answer overtook
                        failed[other[0]] = Attempt(other[1].name, "LATE",
                                                   f"{other[1].name} was still answering when {item.name} did")
                    return task.result(), Provenance(source=item.name, fetched_at=now_ms(), fallback=index > 0,
                                                     failed=[failed[i] for i in sorted(failed)])
                if not isinstance(error, (UpstreamError, SourceUnsupportedError, InvalidSymbolError)):
                    raise error
                log.info("source %s failed: %s %s", item.name, error.code, error.message)
                failed[index] = Attempt.of(item.name, error)
                if isinstance(error, InvalidSymbolError):
                    invalid.append(error)
            if not done and position < len(sources) and not (deadline is not None and deadline.passed):
                start_next()  # the newest source is past its hedge delay: the next one starts beside it
    finally:
        for task in running:
            task.cancel()
        if running:  # a source slow to wind down finishes in the background: the answer does not wait for it
            _, lingering = await asyncio.wait(running, timeout=WIND_DOWN_SECONDS)
            for task in lingering:
                task.add_done_callback(_retrieve)
    if deadline is not None and deadline.passed:  # sources still answering, or never asked
        for index, item, _ in running.values():
            failed[index] = Attempt(item.name, UpstreamTimeoutError.code,
                                    f"{item.name} did not answer within the request's {deadline.seconds:g}s deadline")
        for index in range(position, len(sources)):
            failed[index] = Attempt(sources[index].name, UpstreamTimeoutError.code,
                                    f"{sources[index].name} was not asked: the deadline had passed")
        attempts = [failed[i] for i in sorted(failed)]
        raise UpstreamTimeoutError(f"No source answered within the request's {deadline.seconds:g}s deadline",
                                   details={"attempts": [a.to_dict() for a in attempts]})
    raise no_answer([failed[i] for i in sorted(failed)], invalid, supported)
