"""The sandbox's Ethereum and Bitcoin chains: each starts at a recorded block, and the control API mines new
blocks on top of it from the recorded real transactions, with the values a test asks for."""

import hashlib
import json
from collections import Counter
from typing import Any

from sandbox.fixtures import load_json

RECORDED_BLOCK = "etherscan/v2_proxy_eth_getBlockByNumber_fulltx_chainid1.json"
BITCOIN_TXS = ("esplora/api_address_bc1qvhyk_txs_mempool_space_2021-03.json", "mempool/api_tx_unconfirmed.json")


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
        (input 0x) carry the asked `value` in wei (and `from`/`to` when given). Hashes are derived, so no two
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
                tx["value"] = hex(int(asked["value"]))
                tx["from"] = asked.get("from", tx["from"])
                tx["to"] = asked.get("to", tx["to"])
            transactions.append(tx)
        block = {**self.recorded, "number": hex(number), "hash": block_hash,
                 "parentHash": self.blocks[self.head]["hash"], "timestamp": hex(now_s), "transactions": transactions}
        self.blocks[number] = block
        self.head = number
        return block


def _paid_output(tx: dict[str, Any]) -> dict[str, Any] | None:
    """The largest output paid to an address that is not one of the transaction's inputs (not change)."""
    inputs = {v["prevout"].get("scriptpubkey_address") for v in tx["vin"] if v.get("prevout")}
    paid = [o for o in tx["vout"] if o.get("scriptpubkey_address") not in (None, *inputs)]
    return max(paid, key=lambda o: o["value"], default=None)


class BitcoinChain:
    """Bitcoin blocks by height, each its Esplora block summary and its transactions."""

    def __init__(self) -> None:
        address_txs, unconfirmed = load_json(BITCOIN_TXS[0]), load_json(BITCOIN_TXS[1])
        # The recorded transactions, newest first: the two confirmed ones pay others; the unconfirmed one pays itself.
        self.recorded = [*address_txs, unconfirmed]
        newest = address_txs[0]["status"]
        self.head = newest["block_height"]
        self.blocks: dict[int, dict[str, Any]] = {self.head: {
            "summary": {"id": newest["block_hash"], "height": self.head, "timestamp": newest["block_time"],
                        "tx_count": 1, "previousblockhash": None},
            "txs": [address_txs[0]]}}

    def summary(self, height: int) -> dict[str, Any] | None:
        """Esplora's summary of block `height` (id, height, timestamp, tx_count, previousblockhash)."""
        block = self.blocks.get(height)
        return block["summary"] if block else None

    def txs(self, block_id: str) -> list[dict[str, Any]] | None:
        """The transactions of the block with this id, in block order."""
        return next((b["txs"] for b in self.blocks.values() if b["summary"]["id"] == block_id), None)

    def mine(self, transfers: list[dict[str, Any]], now_s: int) -> dict[str, Any]:
        """A new head block holding the recorded transactions, confirmed in it; in the first ones (those that pay
        someone else), the largest output paid away takes the asked `value` (satoshis) and, when given, `to`, and
        the first input `from`. Transaction ids are derived, so no two mined blocks share one."""
        payers = [tx for tx in self.recorded if _paid_output(tx) is not None]
        if len(transfers) > len(payers):
            raise ValueError(f"the recorded transactions hold {len(payers)} transfers to set")
        height = self.head + 1
        block_id = _derived_hash(self.blocks[self.head]["summary"]["id"], height)[2:]
        status = {"confirmed": True, "block_height": height, "block_hash": block_id, "block_time": now_s}
        txs = []
        for tx in self.recorded:
            mined = json.loads(json.dumps(tx))
            mined.update(txid=_derived_hash(tx["txid"], height)[2:], status=status)
            if tx in payers[:len(transfers)]:
                asked = transfers[payers.index(tx)]
                output = _paid_output(mined)
                output["value"] = int(asked["value"])
                output["scriptpubkey_address"] = asked.get("to", output["scriptpubkey_address"])
                if "from" in asked:
                    mined["vin"][0]["prevout"]["scriptpubkey_address"] = asked["from"]
            txs.append(mined)
        self.blocks[height] = {"summary": {"id": block_id, "height": height, "timestamp": now_s, "tx_count": len(txs),
                                           "previousblockhash": self.blocks[self.head]["summary"]["id"]}, "txs": txs}
        self.head = height
        return {"number": height, "hash": block_id, "timestamp": now_s, "transactions": [t["txid"] for t in txs]}
