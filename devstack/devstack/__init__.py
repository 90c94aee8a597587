"""devstack: start the Dreammaker suite as local processes with real servers."""

from devstack.errors import BinaryNotFoundError, DevstackError, PortInUseError, StartError
from devstack.stack import Stack

__all__ = ["BinaryNotFoundError", "DevstackError", "PortInUseError", "Stack", "StartError"]
