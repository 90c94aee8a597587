"""Readiness checks: small callables that say whether a started server is ready."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from devstack.ports import HOST

Check = Callable[[], bool]


@dataclass(frozen=True)
class Tcp:
    """Ready when a TCP connect works (and, if `send` is set, the answer starts with `expect`)."""

    port: int
    host: str = HOST
    send: bytes = b""
    expect: bytes = b""

    def __call__(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                if not self.send:
                    return True
                sock.sendall(self.send)
                return sock.recv(64).startswith(self.expect)
        except OSError:
            return False

    def __str__(self) -> str:
        return f"tcp {self.host}:{self.port}" + (f" answers {self.expect!r}" if self.expect else "")


@dataclass(frozen=True)
class HttpGet:
    """Ready when GET `url` answers `status` (proxies from the environment are ignored)."""

    url: str
    status: int = 200

    def __call__(self) -> bool:
        try:
            response = httpx.get(self.url, timeout=1.0, trust_env=False)
        except httpx.HTTPError:
            return False
        return response.status_code == self.status

    def __str__(self) -> str:
        return f"GET {self.url} -> {self.status}"


@dataclass(frozen=True)
class AllOf:
    """Ready when every one of `checks` is."""

    checks: tuple[Check, ...]

    def __call__(self) -> bool:
        return all(check() for check in self.checks)

    def __str__(self) -> str:
        return " and ".join(str(check) for check in self.checks)
