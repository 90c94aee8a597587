"""A request's deadline: the time by which it answers, whatever its upstreams do."""

import asyncio
import time
from collections.abc import Awaitable
from typing import TypeVar

from dm_shared.errors import UpstreamTimeoutError

T = TypeVar("T")

# After its upstreams are given up, an answer still has to be built, its cancelled calls wound down
# (fallback.WIND_DOWN_SECONDS) and sent back through the gateway and traefik: upstreams are waited on until
# this long before the deadline, so that the client has its answer by the deadline itself.
REPLY_SECONDS = 0.25


class Deadline:
    """A point in time (monotonic) a request must answer by; `at` is when its upstreams are given up."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + max(seconds - REPLY_SECONDS, seconds / 2)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.at - time.monotonic())

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self.at

    async def run(self, call: Awaitable[T], what: str) -> T:
        """Await `call` until the deadline; past it, UPSTREAM_TIMEOUT naming `what`."""
        try:
            async with asyncio.timeout(self.remaining()):
                return await call
        except TimeoutError:
            raise UpstreamTimeoutError(f"{what} did not answer within the request's {self.seconds:g}s deadline",
                                       details={"upstream": what, "deadline_s": self.seconds}) from None
