"""Owners of known wallets (exchanges' hot and cold wallets), from the data file shipped with the service,
where every label names the source it was taken from."""

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files


@dataclass(frozen=True)
class Owner:
    """Who holds an address: a name (Binance) and a kind (exchange, other)."""

    name: str
    type: str


class Labels:
    """Owner by chain and address (EVM addresses compared in lower case)."""

    def __init__(self, rows: list[dict[str, str]]):
        self._owners = {(row["chain"], _key(row["chain"], row["address"])): Owner(row["owner"], row["owner_type"])
                        for row in rows}

    def owner(self, chain: str, address: str | None) -> Owner | None:
        """The owner of `address` on `chain`, if labelled."""
        return self._owners.get((chain, _key(chain, address))) if address else None

    def __len__(self) -> int:
        return len(self._owners)


def _key(chain: str, address: str) -> str:
    return address if chain == "bitcoin" else address.lower()


@cache
def default_labels() -> Labels:
    """The labels of `chain_svc/data/labels.json`."""
    return Labels(json.loads(files("chain_svc").joinpath("data/labels.json").read_text())["labels"])
