"""The schedule the signal generator and the analysis runner share: one round per slot of `interval_ms`
(slots aligned to the clock, so every replica agrees on them), outcome judging every `judge_seconds`, and
a failed round logged, said to `failed` and retried; never the end of the loop."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from dm_shared.clock import now_ms
from dm_shared.errors import ApiError


async def every_slot(interval_ms: int, judge_seconds: float, *, round: Callable[[int], Awaitable[None]],
                     judge: Callable[[], Awaitable[None]], failed: Callable[[str], None],
                     log: logging.Logger, what: str) -> None:
    done_slot = None
    next_judging = 0.0
    loop = asyncio.get_running_loop()
    while True:
        now = now_ms()
        slot = now - now % interval_ms
        try:
            if slot != done_slot:
                await round(slot)
                done_slot = slot
            if loop.time() >= next_judging:
                await judge()
                next_judging = loop.time() + judge_seconds
        except ApiError as exc:  # the store is away: try again next round
            failed(f"{exc.code}: {exc.message}")
            log.warning("%s round failed: %s: %s", what, exc.code, exc.message)
        except Exception as exc:  # a bug must not stop the worker for good: logged, retried next round
            failed(f"{type(exc).__name__}: {exc}")
            log.exception("%s round failed", what)
        wait = min((slot + interval_ms - now_ms()) / 1000, max(0.0, next_judging - loop.time()))
        await asyncio.sleep(max(0.2, wait))
