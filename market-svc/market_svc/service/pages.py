"""Upstream resources in the page cache shared by every replica (`Sources.pages`, single flight across them).

A page is what one upstream call returns for a resource (a source's market list for a currency and category, a
block of price history), whatever client query asked for it. A refusal (HTTP 4xx other than a rate limit:
asking again will not help) is kept for the page's TTL as well, so a client cannot make one upstream call per
variant of a query the upstream refuses (a currency it does not price, a category it does not know).
"""

from collections.abc import Awaitable, Callable

import orjson

from dm_shared.cache import Entry
from dm_shared.errors import UpstreamRefusedError

from market_svc.sources import Sources

# A kept refusal starts with this; a page's own body is JSON, which never does.
_REFUSED = b"!refused:"


async def get_page(sources: Sources, key: str, ttl: float, fetch: Callable[[], Awaitable[bytes]]) -> Entry:
    """The page under `key`, fetched at most once per `ttl` seconds for every replica; the upstream's refusal
    of it raised again until `ttl` has passed."""

    async def fetch_or_refusal() -> bytes:
        try:
            return await fetch()
        except UpstreamRefusedError as exc:
            return _REFUSED + orjson.dumps({"message": exc.message, "details": exc.details})

    entry = (await sources.pages.get_or_fetch(key, ttl, fetch_or_refusal)).entry
    if entry.body.startswith(_REFUSED):
        refusal = orjson.loads(entry.body.removeprefix(_REFUSED))
        raise UpstreamRefusedError(refusal["message"], details=refusal["details"])
    return entry
