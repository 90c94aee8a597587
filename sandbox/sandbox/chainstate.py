"""The sandbox's Ethereum chain: the recorded block with full transactions is the head, and the control API
mines new blocks on top of it from that block's real transactions, with the values a test asks for."""

import hashlib
from collections import Counter
from typing import Any

from sandbox.fixtures import load_json

RECORDED_BLOCK = "etherscan/v2_proxy_eth_getBlockByNumber_fulltx_chainid1.json"


def _derived_hash(*parts: object) -> str:
    return "0x" + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


class ChainState:
    """Blocks by number; the head is the newest."""

    def __init__(self) -> None:
        recorded = load_json(RECORDED_BLOCK)["result"]
        self.recorded = recorded
        self.head = int(recorded["number"], 16)
        self.blocks: dict[int, dict[str, Any]] = {self.head: recorded}
        # Calls per explorer listener, module and action: every call shares one path (/v2/api), so the
        # request counter cannot tell an address lookup from a block poll.
        self.calls: Counter[str] = Counter()

    def block(self, number: int) -> dict[str, Any] | None:
        """Block `number` as eth_getBlockByNumber returns it (full transactions), or None."""
        return self.blocks.get(number)

    def mine(self, transfers: list[dict[str, Any]], now_s: int) -> dict[str, Any]:
        """A new head block holding every transaction of the recorded block; the first plain ETH transfers
        (input 0x) carry the asked `value_wei` (and `from`/`to` when given). Hashes are derived, so no two
        mined blocks share a transaction hash."""
        number = self.head + 1
        block_hash = _derived_hash(self.recorded["hash"], number)
        plain = [i for i, tx in enumerate(self.recorded["transactions"]) if tx["input"] == "0x"]
        if len(transfers) > len(plain):
            raise ValueError(f"the recorded block has {len(plain)} plain transfers to set")
        transactions = []
        for index, tx in enumerate(self.recorded["transactions"]):
            tx = {**tx, "blockNumber": hex(number), "blockHash": block_hash,
                  "hash": _derived_hash(tx["hash"], number)}
            if index in plain[:len(transfers)]:
                asked = transfers[plain.index(index)]
                tx["value"] = hex(int(asked["value_wei"]))
                tx["from"] = asked.get("from", tx["from"])
                tx["to"] = asked.get("to", tx["to"])
            transactions.append(tx)
        block = {**self.recorded, "number": hex(number), "hash": block_hash,
                 "parentHash": self.blocks[self.head]["hash"], "timestamp": hex(now_s), "transactions": transactions}
        self.blocks[number] = block
        self.head = number
        return block
