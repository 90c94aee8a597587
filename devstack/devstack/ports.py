"""Free-port allocation and port checks on the loopback interface."""

from __future__ import annotations

import random
import socket
from contextlib import ExitStack

HOST = "127.0.0.1"

# Consecutive blocks are searched below the Linux ephemeral range (32768+), where the
# kernel does not hand out ports to outgoing connections.
_BLOCK_RANGE = (20000, 32000)


def _bind(port: int, host: str = HOST) -> socket.socket:
    """Bind a TCP socket to host:port (SO_REUSEADDR, like the servers do) and return it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def is_free(port: int, host: str = HOST) -> bool:
    """True when nothing listens on host:port, so a server could bind it."""
    try:
        _bind(port, host).close()
    except OSError:
        return False
    return True


def allocate(spans: dict[str, int], host: str = HOST) -> dict[str, int]:
    """Pick distinct free ports: one base port per key, with `span` consecutive free ports each."""
    ports: dict[str, int] = {}
    with ExitStack() as held:
        # Every socket stays bound until all are picked, so no two keys share a port.
        # Single ports too come from below the ephemeral range: a port the kernel hands out for bind(0)
        # can be taken by any outgoing connection before the server that is to listen on it starts.
        for key, span in spans.items():
            base, socks = _free_block(span, host)
            for sock in socks:
                held.enter_context(sock)
            ports[key] = base
    return ports


def _free_block(span: int, host: str) -> tuple[int, list[socket.socket]]:
    """Find `span` consecutive free ports; returns the base and the sockets holding them."""
    low, high = _BLOCK_RANGE
    for _ in range(200):
        base = random.randrange(low, high - span)
        socks: list[socket.socket] = []
        try:
            for port in range(base, base + span):
                socks.append(_bind(port, host))
        except OSError:
            for sock in socks:
                sock.close()
            continue
        return base, socks
    raise OSError(f"no block of {span} consecutive free ports in {low}-{high}")


def can_connect(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    """True when a TCP connection to host:port is accepted."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
