"""Fallback chains: try each source in order and say which one answered and why the others did not."""

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from dm_shared.clock import now_ms
from dm_shared.errors import (
    ApiError,
    InvalidSymbolError,
    SourceUnsupportedError,
    UpstreamError,
    UpstreamUnavailableError,
)
from dm_shared.provenance import Attempt, Provenance

log = logging.getLogger("dm.fallback")
T = TypeVar("T")
A = TypeVar("A", bound="_Named")


class _Named(Protocol):
    name: str


@dataclass
class Source(Generic[T]):
    """One step of a chain: a name users see in `source`, and the call that fetches from it."""

    name: str
    fetch: Callable[[], Awaitable[T]]


def each(adapters: Iterable[A], call: Callable[[A], Awaitable[T]]) -> list[Source[T]]:
    """One source per adapter, in order, each asking its adapter with `call`."""
    return [Source(adapter.name, lambda adapter=adapter: call(adapter)) for adapter in adapters]


def no_answer(failed: list[Attempt], invalid: list[InvalidSymbolError],
              supported: Iterable[str] = ()) -> ApiError:
    """The one rule when every source failed: 404 INVALID_SYMBOL, with the symbols that are supported, when
    every source that could be asked said it does not know the symbol; else 503 with every attempt."""
    answered = [a for a in failed if a.code not in (SourceUnsupportedError.code, InvalidSymbolError.code)]
    if invalid and not answered:
        listed = {s for exc in invalid for s in exc.details.get("supported_symbols", [])} | set(supported)
        first = invalid[0]
        return InvalidSymbolError(first.message, details={**first.details, "supported_symbols": sorted(listed)})
    return UpstreamUnavailableError("No source could answer this request",
                                    details={"attempts": [vars(a) for a in failed]})


async def first_success(sources: list[Source[T]], supported: Iterable[str] = ()) -> tuple[T, Provenance]:
    """The first source's answer that succeeds, labelled; when none does, the error of `no_answer`."""
    failed: list[Attempt] = []
    invalid: list[InvalidSymbolError] = []
    for position, source in enumerate(sources):
        try:
            value = await source.fetch()
        except InvalidSymbolError as exc:
            invalid.append(exc)
            failed.append(Attempt(source.name, exc.code, exc.message))
            continue
        except (UpstreamError, SourceUnsupportedError) as exc:
            log.info("source %s failed: %s %s", source.name, exc.code, exc.message)
            failed.append(Attempt(source.name, exc.code, exc.message))
            continue
        return value, Provenance(source=source.name, fetched_at=now_ms(), fallback=position > 0, failed=failed)
    raise no_answer(failed, invalid, supported)
