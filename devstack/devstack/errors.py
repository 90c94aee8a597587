"""The exceptions devstack raises."""


class DevstackError(Exception):
    """Base of every devstack error."""


class BinaryNotFoundError(DevstackError):
    """A server binary (redis-server, nats-server, traefik ...) could not be located."""


class PortInUseError(DevstackError):
    """A port a component must listen on is already taken by another process."""


class StartError(DevstackError):
    """A component exited or did not become ready before its deadline."""
