"""Who is on the other end: the client's address, from forwarding headers only when a trusted proxy sent them.

The direct peer is the client unless it is one of GATEWAY_TRUSTED_PROXIES (traefik). From a trusted peer,
`X-Forwarded-For` (or RFC 7239 `Forwarded: for=`) is read from the right, skipping trusted proxies: the
first address that is not one is the client. A client cannot choose its identity by sending the header
itself: from an untrusted peer it is ignored, and traefik replaces what an untrusted client sent.
"""

import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Networks:
    """A set of networks with a cached membership test (addresses repeat: the same proxies, clients)."""

    def __init__(self, cidrs: Iterable[str]):
        self.networks: tuple[_Network, ...] = tuple(ipaddress.ip_network(c.strip(), strict=False)
                                                    for c in cidrs if c.strip())
        self.contains = lru_cache(maxsize=65536)(self._contains)

    def _contains(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)


def _forwarded_for(value: bytes) -> list[str]:
    """The `for=` addresses of RFC 7239 `Forwarded`, in order ("[2001:db8::1]:4711" -> 2001:db8::1)."""
    found = []
    for element in value.decode("latin-1").split(","):
        for pair in element.split(";"):
            name, _, raw = pair.strip().partition("=")
            if name.lower() == "for":
                raw = raw.strip().strip('"')
                if raw.startswith("["):
                    raw = raw[1:].split("]", 1)[0]
                elif raw.count(":") == 1:
                    raw = raw.split(":", 1)[0]
                found.append(raw)
    return found


def client_ip(peer: str | None, headers: Sequence[tuple[bytes, bytes]], trusted: Networks) -> str:
    """The client's address: the peer, or the forwarded one when the peer is a trusted proxy."""
    if peer is None:
        return "unknown"
    if not trusted.contains(peer):
        return peer
    chain: list[str] = []
    for name, value in headers:
        if name == b"x-forwarded-for":
            chain += [part.strip() for part in value.decode("latin-1").split(",")]
        elif name == b"forwarded" and not chain:
            chain += _forwarded_for(value)
    for address in reversed(chain):
        if not trusted.contains(address):
            return address if _valid(address) else peer
    return chain[0] if chain and _valid(chain[0]) else peer


@lru_cache(maxsize=65536)
def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True
