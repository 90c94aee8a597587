"""Fallback chains: try each source in order and say which one answered and why the others did not."""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from dm_shared.envelope import now_ms
from dm_shared.errors import InvalidSymbolError, SourceUnsupportedError, UpstreamError, UpstreamUnavailableError
from dm_shared.provenance import Attempt, Provenance

log = logging.getLogger("dm.fallback")
T = TypeVar("T")


@dataclass
class Source(Generic[T]):
    """One step of a chain: a name users see in `source`, and the call that fetches from it."""

    name: str
    fetch: Callable[[], Awaitable[T]]


async def first_success(sources: list[Source[T]]) -> tuple[T, Provenance]:
    """The first source's answer that succeeds, labelled; 503 UPSTREAM_UNAVAILABLE when none does.

    A source that does not know the symbol does not end the chain; when every source that could be
    asked said so, the request fails with INVALID_SYMBOL (404) carrying their supported symbols.
    """
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
    answered = [a for a in failed if a.code not in (SourceUnsupportedError.code, InvalidSymbolError.code)]
    if invalid and not answered:
        supported = sorted({s for exc in invalid for s in exc.details.get("supported_symbols", [])})
        first = invalid[0]
        raise InvalidSymbolError(first.message, details={**first.details, "supported_symbols": supported})
    raise UpstreamUnavailableError("No source could answer this request",
                                   details={"attempts": [vars(a) for a in failed]})

