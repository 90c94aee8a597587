"""The chains chain-svc serves, as data: their family (EVM or Bitcoin), Etherscan chain id and native coin."""

from dataclasses import dataclass
from typing import Literal

Family = Literal["evm", "bitcoin"]


@dataclass(frozen=True)
class Chain:
    """One chain: its name in the API, its family, its Etherscan V2 `chainid`, its coin and the coin's decimals."""

    name: str
    family: Family
    coin: str
    decimals: int
    chain_id: int | None = None


CHAINS: dict[str, Chain] = {chain.name: chain for chain in (
    Chain("ethereum", "evm", "ETH", 18, 1),
    Chain("bsc", "evm", "BNB", 18, 56),
    Chain("polygon", "evm", "POL", 18, 137),
    Chain("bitcoin", "bitcoin", "BTC", 8),
)}
ChainName = Literal["ethereum", "bsc", "polygon", "bitcoin"]
