"""A burst of subscriptions asks a streaming service for its keys once, and a service that cannot be asked
is not asked again for every subscription (10,000 websocket clients subscribing at once took 50 s of the
gateway's loop when each asked a stopped stream-svc itself)."""

import asyncio
import logging

import orjson

from devstack.ports import allocate
from gateway.catalog import Catalog
from gateway.services import ServiceClient


class StreamsServer:
    """A real HTTP server answering `GET /v1/streams`, slowly enough that a burst overlaps; counts requests."""

    def __init__(self, symbols: list[str]):
        self.body = orjson.dumps({"symbols": symbols})
        self.requests = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        self.requests += 1
        await asyncio.sleep(0.05)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
                     b"content-length: %d\r\n\r\n%s" % (len(self.body), self.body))
        await writer.drain()
        writer.close()
        await writer.wait_closed()


async def test_a_burst_of_subscriptions_asks_once_per_ttl():
    streams = StreamsServer(["BTC/USDT", "ETH/USDT"])
    server = await asyncio.start_server(streams.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    services = ServiceClient({"stream": f"http://127.0.0.1:{port}"}, timeout=5)
    catalog = Catalog(services, ttl=0.5)
    try:
        answers = await asyncio.gather(*(catalog.keys("stream") for _ in range(500)))
        assert all(keys == {"BTC/USDT", "ETH/USDT"} for keys in answers)
        assert streams.requests == 1
        await asyncio.sleep(0.6)  # past the TTL: asked again
        assert await catalog.keys("stream") == {"BTC/USDT", "ETH/USDT"} and streams.requests == 2
    finally:
        await services.close()
        server.close()
        await server.wait_closed()


async def test_a_service_that_cannot_be_asked_is_retried_after_a_pause_not_per_subscription(caplog):
    port = allocate({"stream": 1})["stream"]  # nothing listens there (and no outgoing connection takes it)
    services = ServiceClient({"stream": f"http://127.0.0.1:{port}"}, timeout=5)
    catalog = Catalog(services, retry=0.5)
    try:
        with caplog.at_level(logging.WARNING, logger="gateway.catalog"):
            answers = await asyncio.gather(*(catalog.keys("stream") for _ in range(500)))
            assert answers == [None] * 500  # no key is refused for a service that cannot say
            assert await catalog.keys("stream") is None
        assert len(caplog.records) == 1  # one attempt, one line
        streams = StreamsServer(["BTC/USDT"])
        server = await asyncio.start_server(streams.handle, "127.0.0.1", port)
        assert await catalog.keys("stream") is None and streams.requests == 0  # still within the pause
        await asyncio.sleep(0.6)
        assert await catalog.keys("stream") == {"BTC/USDT"} and streams.requests == 1
        server.close()
        await server.wait_closed()
    finally:
        await services.close()
