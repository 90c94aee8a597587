"""Work split between replicas through a NATS key-value bucket.

Each replica announces itself (`member.<id>`) and holds an item (`item.<name>`) while it keeps renewing
it. Keys that are not renewed expire with the bucket's TTL, so a dead replica's items become free and
another replica takes them within TTL plus one renewal period. Each replica takes at most its fair share
(items / live members) and gives back extras when a replica joins, so work spreads as replicas come and go.
An item given back is released only after `on_change` has stopped the work on it, so no two replicas
work on one item at once (a symbol is never published twice).
"""

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable

from nats.js.api import KeyValueConfig
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError

from dm_shared.bus import Bus

log = logging.getLogger("dm.leases")


class Leases:
    """Which of `items` this replica works on, kept current in the background."""

    def __init__(self, bus: Bus, *, bucket: str, replica: str, ttl: float = 6.0, renew_every: float = 2.0):
        self.bus, self.bucket, self.replica = bus, bucket, replica
        self.ttl, self.renew_every = ttl, renew_every
        self.held: dict[str, int] = {}  # item -> revision of our lease
        self._returning: dict[str, int] = {}  # given back, released once the work on them has stopped
        self.members = 0
        self._kv = None

    async def _store(self):
        if self._kv is None:
            js = self.bus.nc.jetstream()
            try:
                self._kv = await js.key_value(self.bucket)
            except BucketNotFoundError:
                self._kv = await js.create_key_value(KeyValueConfig(bucket=self.bucket, ttl=self.ttl, history=1))
        return self._kv

    async def run(self, items: list[str], on_change: Callable[[set[str]], Awaitable[None]]) -> None:
        """Keep leases for a fair share of `items` until cancelled; `on_change` gets the new set."""
        try:
            while True:
                before = set(self.held)
                if self.bus.connected:
                    try:
                        await self._round(items)
                    except Exception as exc:  # NATS trouble: keep what we hold until it is back
                        log.warning("lease round failed (%s); keeping %s", exc, sorted(self.held))
                        self._kv = None
                if set(self.held) != before:
                    log.info("now streaming %s (%d live replicas)", sorted(self.held), self.members)
                    await on_change(set(self.held))
                await self._release_returned()
                await asyncio.sleep(self.renew_every)
        finally:
            try:
                if self.held:
                    await on_change(set())  # the work stops before another replica may take it
            finally:
                await self._release_all()

    async def _round(self, items: list[str]) -> None:
        kv = await self._store()
        await kv.put(f"member.{self.replica}", b"1")
        self.members = max(1, await self._live_members(kv))
        share = math.ceil(len(items) / self.members)
        for item, revision in list(self.held.items()):  # renew, or learn that we lost it
            try:
                self.held[item] = await kv.update(self._key(item), self.replica.encode(), last=revision)
            except KeyWrongLastSequenceError:
                del self.held[item]
        for item in sorted(self.held)[share:]:  # give back extras to a replica that joined (see run)
            self._returning[item] = self.held.pop(item)
        for item in items:
            if len(self.held) >= share:
                break
            if item not in self.held:
                try:
                    self.held[item] = await kv.create(self._key(item), self.replica.encode())
                except KeyWrongLastSequenceError:
                    pass  # someone else's

    async def _live_members(self, kv) -> int:
        """The members announced and not gone: the bucket's member subjects (one stream info request), each
        read back so that a member that left (its key deleted) is not counted. No consumer is made: a KV
        watcher (nats-py's `keys()`) is one on the server, left there 5 minutes after each round, and its
        end-of-data marker can come before the entries when the client is busy (a count of none)."""
        prefix = f"$KV.{self.bucket}."
        info = await self.bus.nc.jetstream().stream_info(f"KV_{self.bucket}", subjects_filter=prefix + "member.>")
        live = 0
        for subject in info.state.subjects or {}:
            try:
                await kv.get(subject.removeprefix(prefix))
                live += 1
            except KeyNotFoundError:  # deleted (KeyDeletedError is one), or expired meanwhile
                pass
        return live

    @staticmethod
    def _key(item: str) -> str:
        return "item." + item.replace("/", "-")

    async def _release_returned(self) -> None:
        while self._returning and self.bus.connected:
            await self._release(*self._returning.popitem())

    async def _release(self, item: str, revision: int) -> None:
        try:
            await (await self._store()).delete(self._key(item), last=revision)
        except Exception as exc:  # it expires anyway
            log.debug("could not release %s: %s", item, exc)

    async def _release_all(self) -> None:
        if not self.bus.connected:
            return
        await self._release_returned()
        while self.held:
            await self._release(*self.held.popitem())
        try:
            await (await self._store()).delete(f"member.{self.replica}")
        except Exception as exc:  # it expires anyway
            log.debug("could not leave: %s", exc)
