"""One uvicorn server per listener in a shared event loop; a listener can be closed and reopened on its port."""

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator

import uvicorn

from sandbox.faults import ASGIApp

logger = logging.getLogger("sandbox")


class _DenialNoise(logging.Filter):
    """uvicorn's websockets-sansio protocol does not mark the handshake done after an HTTP denial response
    (a websocket handshake refused with a status, as a status fault or a bad stream name does), so it logs this
    error although the client got the answer. Only that one message is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing handshake."


logging.getLogger("uvicorn.error").addFilter(_DenialNoise())


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the sandbox process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    # Reopening after a "refuse" fault must win over connections left in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class Listener:
    """An ASGI app served on host:port; close() refuses connections for real, open() listens again."""

    def __init__(self, name: str, app: ASGIApp, host: str, port: int) -> None:
        self.name = name
        self.app = app
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()

    @property
    def listening(self) -> bool:
        """Whether the listening socket is open."""
        return self._server is not None

    async def open(self) -> None:
        """Start listening on the port (no-op when already listening)."""
        async with self._lock:
            if self._server is not None:
                return
            sock = _bind(self.host, self.port)
            config = uvicorn.Config(self.app, lifespan="off", log_level="warning", access_log=False,
                                    timeout_keep_alive=30, log_config=None)
            server = _Server(config)
            task = asyncio.create_task(server.serve(sockets=[sock]), name=f"listener-{self.name}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError(f"listener {self.name} stopped during startup")
                await asyncio.sleep(0.005)
            self._server = server
            logger.info("%s listening on %s:%d", self.name, self.host, self.port)

    async def close(self) -> None:
        """Close the listening socket and drop idle keep-alive connections; in-flight responses finish."""
        async with self._lock:
            server, self._server = self._server, None
            if server is None:
                return
            for listening in server.servers:
                listening.close()
            for connection in list(server.server_state.connections):
                connection.shutdown()
            server.should_exit = True
            logger.info("%s stopped listening on port %d", self.name, self.port)

    def drop_websockets(self, path: str | None = None) -> int:
        """Abort the TCP connection of every open websocket (at a path starting with `path`), without a close
        frame: clients see an abnormal closure (1006). The listener keeps accepting new connections."""
        server = self._server
        if server is None:
            return 0
        dropped = 0
        for connection in list(server.server_state.connections):
            scope = getattr(connection, "scope", None)
            if not isinstance(scope, dict) or scope.get("type") != "websocket":
                continue
            if path is not None and not scope["path"].startswith(path):
                continue
            connection.transport.abort()
            dropped += 1
        if dropped:
            logger.info("%s dropped %d websocket connection(s)", self.name, dropped)
        return dropped

    async def stop(self) -> None:
        """Close and wait until the server has finished."""
        await self.close()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
