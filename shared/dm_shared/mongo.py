"""MongoDB through PyMongo's async API (`AsyncMongoClient`; motor is deprecated upstream in its favour).

Every service that keeps history opens its store here: short timeouts, so that a store that is down
fails the features that need it quickly and visibly, while the rest of the service keeps answering.
"""

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.uri_parser import parse_uri

DEFAULT_DATABASE = "dreammaker"


def open_mongo(url: str, *, timeout_ms: int = 1000) -> AsyncMongoClient:
    """A client for `url` that gives up on an unreachable server within `timeout_ms` (it connects lazily)."""
    return AsyncMongoClient(url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms,
                            socketTimeoutMS=max(timeout_ms, 5000), tz_aware=True)


def database(client: AsyncMongoClient, url: str) -> AsyncDatabase:
    """The database named in `url` (`mongodb://host/<name>`), else the suite's default."""
    return client[parse_uri(url).get("database") or DEFAULT_DATABASE]


async def ping(client: AsyncMongoClient) -> dict[str, Any]:
    """Health probe: raises when the server cannot be reached."""
    await client.admin.command("ping")
    return {}
