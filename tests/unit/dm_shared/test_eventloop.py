"""The suite's event loop: a connect cancelled on a socket of the caller's own (PyMongo's async client connects
that way, and a probe or deadline that gives up cancels it) leaves no socket owning a descriptor that libuv
has closed, so closing that socket later cannot close another connection that got the same number."""

import asyncio
import contextlib
import socket

from dm_shared.eventloop import new_event_loop


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(await reader.readline())
    await writer.drain()
    writer.close()


async def _cancelled_connect_then_another_connection() -> tuple[int, bytes]:
    loop = asyncio.get_running_loop()
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    own = socket.socket()
    own.setblocking(False)
    await loop.sock_connect(own, ("127.0.0.1", port))
    connecting = asyncio.ensure_future(loop.create_connection(asyncio.Protocol, sock=own))
    await asyncio.sleep(0)  # the connect is under way, its descriptor in libuv's hands
    connecting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await connecting
    left = own.fileno()
    await asyncio.sleep(0.05)  # libuv's close is done: the number is free for the next connection
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    own.close()  # what the socket's finalizer would do
    writer.write(b"still here\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    server.close()
    return left, answer


def test_a_cancelled_connect_on_an_own_socket_lets_the_descriptor_go_and_spares_other_connections():
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        left, answer = runner.run(_cancelled_connect_then_another_connection())
    assert left == -1  # the socket gave the descriptor up (uvloop 0.22.1 alone leaves it owning it)
    assert answer == b"still here\n"  # the next connection, likely on the same number, was not closed
