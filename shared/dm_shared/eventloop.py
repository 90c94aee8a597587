"""The event loop every server process of the suite runs on: uvloop, with the fix of uvloop#738 that the
version ccxt pins (0.22.1) lacks.

uvloop's `create_connection(sock=...)` hands the socket's descriptor to libuv and, when cancelled while the
connection is being made, closes that descriptor but leaves the Python socket believing it still owns it.
The socket's finalizer then closes whatever connection the kernel has given that number to since. PyMongo's
async client connects this way, and a health probe or a request deadline that gives up on MongoDB under
load cancels exactly there: the gateway lost other connections' descriptors behind libuv's back, and libuv
aborted the process (bench.soak: "Fatal Python error: Aborted" in the event loop, no other trace). Here the
socket lets go of the descriptor on that path, as uvloop 0.23 does itself.

    python -m uvicorn app:create_app --factory --loop dm_shared.eventloop:new_event_loop
"""

import asyncio
from typing import Any

import uvloop


class Loop(uvloop.Loop):
    async def create_connection(self, protocol_factory, host=None, port=None, *, sock=None, **kwargs) -> Any:
        try:
            return await super().create_connection(protocol_factory, host, port, sock=sock, **kwargs)
        except asyncio.CancelledError:
            # Cancelled at its only await, after libuv took the descriptor and closed it again.
            if sock is not None and sock.fileno() != -1:
                sock.detach()
            raise


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvicorn loop factory (`--loop dm_shared.eventloop:new_event_loop`)."""
    return Loop()
