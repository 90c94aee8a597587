"""devstack: start the Dreammaker suite as local processes with real servers."""

from devstack.errors import BinaryNotFoundError, DevstackError, PortInUseError, StartError
from devstack.stack import Stack
from devstack.supervisor import Backoff, Supervisor

__all__ = [
    "Backoff", "BinaryNotFoundError", "DevstackError", "PortInUseError", "Stack", "StartError", "Supervisor",
]
