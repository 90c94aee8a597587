"""Blocks as the whale scan reads them, whatever the chain: who sent how much to whom."""

from dataclasses import dataclass


@dataclass(frozen=True)
class BlockTransfer:
    """One transaction of a block: its sender, its main recipient, and the amount moved in base units
    (wei, satoshis)."""

    hash: str
    sender: str
    to: str | None
    units: int


@dataclass(frozen=True)
class Block:
    """A block (or one page of a block's transactions) with its number and time (unix ms)."""

    number: int
    timestamp: int
    transfers: list[BlockTransfer]
