"""API keys: created, listed and revoked here or through /api/admin/keys; stored hashed in MongoDB.

A key reads `dmk_<id>_<secret>`: the id is public (it names the key in lists, logs and revocations), the
secret is 32 random bytes shown once, at creation. MongoDB holds the SHA-256 of the whole key, never the
key (a random 256-bit secret needs no slow hash: nothing can be guessed from its digest). Every gateway
replica keeps the keys in memory (`KeyRing`, refreshed every GATEWAY_KEYS_REFRESH_SECONDS) so checking a
key costs one hash and no round trip; a revoked key stops working on every replica within that interval.

    python -m gateway.keys create --name ops --scopes read,analyze,admin --rate 1000
    python -m gateway.keys list
    python -m gateway.keys revoke <id>
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import logging
import os
import secrets
import sys
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from dm_shared.clock import now_ms
from dm_shared.mongo import database, open_mongo

log = logging.getLogger("gateway.keys")

PREFIX = "dmk_"
COLLECTION = "api_keys"
# What a key may do beyond open reads; `admin` includes every other scope.
SCOPES = ("read", "analyze", "write", "admin")
ADMIN = "admin"
_DUMMY = hashlib.sha256(b"no such key").hexdigest()
# A replica re-reads keys changed this long before its last read too, so a writer's clock a little behind
# its own does not hide a change.
_OVERLAP_MS = 10_000


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def new_key() -> tuple[str, str]:
    """A new key id and the whole key."""
    key_id = secrets.token_hex(8)
    secret = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    return key_id, f"{PREFIX}{key_id}_{secret}"


def key_id_of(key: str) -> str | None:
    """The id part of something shaped like a key, else None."""
    if not key.startswith(PREFIX):
        return None
    key_id, sep, secret = key[len(PREFIX):].partition("_")
    return key_id if sep and len(key_id) == 16 and secret else None


def parse_scopes(text: str | list[str]) -> list[str]:
    scopes = sorted({s.strip() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()})
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scopes {unknown}: a key's scopes are among {list(SCOPES)}")
    return scopes


@dataclass(frozen=True)
class KeyRecord:
    """What the gateway knows of a key: never the key itself."""

    id: str
    name: str
    scopes: frozenset[str]
    rate: str | None
    hash: str
    created_at: int
    revoked_at: int | None = None

    @classmethod
    def of(cls, doc: dict[str, Any]) -> "KeyRecord":
        return cls(id=doc["_id"], name=doc.get("name", ""), scopes=frozenset(doc.get("scopes", ())),
                   rate=doc.get("rate"), hash=doc["hash"], created_at=doc.get("created_at", 0),
                   revoked_at=doc.get("revoked_at"))

    def public(self) -> dict[str, Any]:
        """The key as admins see it listed: no hash, no secret."""
        return {"id": self.id, "prefix": f"{PREFIX}{self.id}", "name": self.name, "scopes": sorted(self.scopes),
                "rate": self.rate, "created_at": self.created_at, "revoked_at": self.revoked_at}


class KeyStore:
    """The keys collection."""

    def __init__(self, collection: AsyncCollection):
        self.collection = collection

    @classmethod
    def at(cls, client, url: str) -> "KeyStore":
        return cls(database(client, url)[COLLECTION])

    async def prepare(self) -> None:
        await self.collection.create_index([("updated_at", ASCENDING)])

    async def create(self, *, name: str, scopes: list[str], rate: str | None) -> tuple[KeyRecord, str]:
        """A new key: its record, and the key itself (shown to its owner once, stored nowhere)."""
        key_id, key = new_key()
        now = now_ms()
        doc = {"_id": key_id, "name": name, "scopes": parse_scopes(scopes), "rate": rate, "hash": digest(key),
               "created_at": now, "revoked_at": None, "updated_at": now}
        await self.collection.insert_one(doc)
        return KeyRecord.of(doc), key

    async def revoke(self, key_id: str) -> KeyRecord | None:
        """Revoke a key (kept, marked, so lists show when); None when there is no such key."""
        now = now_ms()
        doc = await self.collection.find_one_and_update(
            {"_id": key_id}, {"$set": {"revoked_at": now, "updated_at": now}}, return_document=True)
        return KeyRecord.of(doc) if doc else None

    async def all(self) -> list[KeyRecord]:
        return [KeyRecord.of(doc) async for doc in self.collection.find({}).sort("created_at", ASCENDING)]

    async def changed_since(self, ms: int) -> list[KeyRecord]:
        return [KeyRecord.of(doc) async for doc in self.collection.find({"updated_at": {"$gte": ms}})]


class KeyRing:
    """Every key, in memory: checked with no round trip, refreshed from the store in the background."""

    def __init__(self, store: KeyStore | None, refresh_seconds: float = 1.0):
        self.store = store
        self.refresh_seconds = refresh_seconds
        self.keys: dict[str, KeyRecord] = {}
        self._verified: dict[str, KeyRecord] = {}  # key -> record, emptied whenever a key changes
        self.generation = 0  # counts those changes: what was worked out from a key before one is redone
        self.loaded = False
        self._read_at = 0
        self._task: asyncio.Task | None = None

    def verify(self, key: str) -> KeyRecord | None:
        """The record of a valid, unrevoked key; None otherwise (in about the same time either way)."""
        known = self._verified.get(key)
        if known is not None:
            return known
        record = self._check(key)
        if record is not None:
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[key] = record
        return record

    def _check(self, key: str) -> KeyRecord | None:
        key_id = key_id_of(key)
        record = self.keys.get(key_id) if key_id else None
        expected = record.hash if record is not None else _DUMMY
        if not hmac.compare_digest(digest(key), expected) or record is None or record.revoked_at is not None:
            return None
        return record

    async def refresh(self) -> None:
        """Read what changed since the last read (everything the first time)."""
        if self.store is None:
            return
        started = now_ms()
        changed = await self.store.changed_since(self._read_at - _OVERLAP_MS if self.loaded else 0)
        for record in changed:
            if self.keys.get(record.id) != record:
                self.keys[record.id] = record
                self._verified.clear()
                self.generation += 1
        self._read_at, self.loaded = started, True

    def remember(self, record: KeyRecord) -> None:
        """A change this replica made itself, effective here at once."""
        self.keys[record.id] = record
        self._verified.clear()
        self.generation += 1

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._refreshing())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _refreshing(self) -> None:
        failing = False
        while True:
            try:
                await self.refresh()
                if failing:
                    log.info("API keys readable again (%d keys)", len(self.keys))
                failing = False
            except PyMongoError as exc:
                if not failing:
                    log.warning("API keys not readable (%s): the last %d known keys stay in force",
                                exc, len(self.keys))
                failing = True
            await asyncio.sleep(self.refresh_seconds)


async def _run(args: argparse.Namespace) -> int:
    from gateway.settings import get_settings

    url = get_settings().mongo_url
    client = open_mongo(url, timeout_ms=5000)
    store = KeyStore.at(client, url)
    try:
        if args.command == "create":
            await store.prepare()
            rate = args.rate if args.rate is None or "/" in args.rate else f"{args.rate}/minute"
            record, key = await store.create(name=args.name, scopes=args.scopes, rate=rate)
            print(f"id      {record.id}\nscopes  {','.join(sorted(record.scopes))}\n"
                  f"rate    {record.rate or 'default'}\nkey     {key}\n"
                  "The key is shown this once; only its hash is stored.")
        elif args.command == "list":
            for record in await store.all():
                state = "revoked" if record.revoked_at else "active"
                print(f"{record.id}  {state:7}  {record.name:20}  {','.join(sorted(record.scopes)):24}  "
                      f"{record.rate or 'default'}")
        else:
            record = await store.revoke(args.id)
            if record is None:
                print(f"no key {args.id}", file=sys.stderr)
                return 1
            print(f"revoked {record.id} ({record.name})")
    finally:
        await client.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """The keys command line."""
    parser = argparse.ArgumentParser(prog="python -m gateway.keys", description="Manage the API's keys.")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a key and print it once")
    create.add_argument("--name", required=True)
    create.add_argument("--scopes", default="read", type=parse_scopes,
                        help=f"comma-separated, among {','.join(SCOPES)} (default read)")
    create.add_argument("--rate", default=None, help="requests per minute (1000), or a rate such as 50/second")
    commands.add_parser("list", help="every key, active and revoked")
    revoke = commands.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("id")
    args = parser.parse_args(argv)
    if getattr(args, "rate", None) is not None:
        from gateway.limiter import Rate
        try:
            Rate.parse(args.rate if "/" in args.rate else f"{args.rate}/minute")
        except ValueError as exc:
            parser.error(str(exc))
    return asyncio.run(_run(args))


if __name__ == "__main__":
    sys.exit(main())
