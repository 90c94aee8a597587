"""A lean RFC 6455 websocket client for load generation: one asyncio Protocol per connection, no task.

The fan-out bench runs 10,000 of these next to the gateway on the same machine, so what a client costs
per message is CPU the gateway does not get. A full client library spends ~100 µs per message (a task
wake-up, a frame object, UTF-8 decoding, JSON); this one parses frame headers in place and hands each
text payload, as bytes, to a callback, a few µs. It speaks the protocol for real: HTTP/1.1 upgrade with
Sec-WebSocket-Key and a checked Sec-WebSocket-Accept, masked client frames, fragmented messages,
answers to pings, close frames with their code. It offers no extensions (no permessage-deflate).
"""

import asyncio
import base64
import hashlib
import os
import struct
from collections.abc import Callable
from urllib.parse import urlsplit

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def client_frame(opcode: int, payload: bytes) -> bytes:
    """One final, masked frame from client to server."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    mask = os.urandom(4)
    repeated = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big") if n else b""
    return head + mask + masked


class Client(asyncio.Protocol):
    """One websocket connection. `on_text(payload: bytes)` gets every text message; `opened` resolves
    after the handshake and `closed` with the close code (or the error) when the connection ends."""

    def __init__(self, url: str, on_text: Callable[[bytes], None]):
        parts = urlsplit(url)
        self.host = parts.netloc
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.on_text = on_text
        self.key = base64.b64encode(os.urandom(16))
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[int | None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.fragments: list[bytes] = []
        self.close_code: int | None = None

    # -- asyncio.Protocol

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {self.key.decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        if not self.upgraded and not self._handshake():
            return
        pos, end = 0, len(buf)
        while end - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            n, head = b1 & 0x7F, 2
            if n == 126:
                if end - pos < 4:
                    break
                n, head = (buf[pos + 2] << 8) | buf[pos + 3], 4
            elif n == 127:
                if end - pos < 10:
                    break
                n, head = struct.unpack_from("!Q", buf, pos + 2)[0], 10
            if b1 & 0x80:
                self._fail("masked frame from the server")
                return
            if end - pos < head + n:
                break
            payload = bytes(buf[pos + head:pos + head + n])
            pos += head + n
            self._frame(b0 & 0x80, b0 & 0x0F, payload)
        del buf[:pos]

    def connection_lost(self, exc) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(self.close_code if exc is None else None)

    # -- sending

    def send_text(self, text: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(OP_TEXT, text.encode()))

    def close(self, code: int = 1000) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(OP_CLOSE, struct.pack("!H", code)))
            self.transport.close()

    # -- internals

    def _handshake(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        del self.buffer[:end + 4]
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
        accept = base64.b64encode(hashlib.sha1(self.key + _GUID).digest()).decode()
        if not head[0].startswith("HTTP/1.1 101") or headers.get("sec-websocket-accept") != accept:
            self._fail(f"upgrade refused: {head[0]}")
            return False
        self.upgraded = True
        self.opened.set_result(None)
        return True

    def _frame(self, fin: int, opcode: int, payload: bytes) -> None:
        if opcode in (OP_TEXT, OP_BINARY, OP_CONT):
            if not fin:
                self.fragments.append(payload)
                return
            if self.fragments:
                payload = b"".join((*self.fragments, payload))
                self.fragments.clear()
            self.on_text(payload)
        elif opcode == OP_PING:
            self.transport.write(client_frame(OP_PONG, payload))
        elif opcode == OP_CLOSE:
            self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            self.transport.write(client_frame(OP_CLOSE, payload[:2]))
            self.transport.close()

    def _fail(self, reason: str) -> None:
        error = ConnectionError(reason)
        if not self.opened.done():
            self.opened.set_exception(error)
        if not self.closed.done():
            self.closed.set_exception(error)
        self.transport.close()


async def connect(url: str, on_text: Callable[[bytes], None], timeout: float = 60.0) -> Client:
    """Open a websocket connection to `url` (ws:// only) and complete the handshake."""
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    _, client = await asyncio.wait_for(
        loop.create_connection(lambda: Client(url, on_text), parts.hostname, parts.port or 80), timeout)
    await asyncio.wait_for(asyncio.shield(client.opened), timeout)
    return client
