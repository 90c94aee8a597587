"""mempool.space and Blockstream's Esplora (the same REST API): an address's transactions. Amounts are
satoshis; a transaction is read from the address's side (what it received minus what it spent)."""

from typing import Any

from dm_shared.adapter import reading
from dm_shared.errors import UpstreamBadResponseError
from dm_shared.guard import Guard
from dm_shared.upstream import Upstream, UpstreamClient

from chain_svc.domain.blocks import BlockTransfer
from chain_svc.domain.chains import Chain
from chain_svc.domain.types import Transaction
from chain_svc.domain.units import plain, to_coin

# Esplora pages confirmed transactions 25 at a time (`/txs/chain/{last_seen_txid}` for the next page).
PAGE = 25


def to_transaction(tx: dict[str, Any], chain: Chain, address: str) -> Transaction:
    """An Esplora transaction as seen from `address`: the net amount it received or spent, and its counterpart."""
    spent = sum(v["prevout"]["value"] for v in tx["vin"]
                if v.get("prevout") and v["prevout"].get("scriptpubkey_address") == address)
    received = sum(o["value"] for o in tx["vout"] if o.get("scriptpubkey_address") == address)
    others_out = [o for o in tx["vout"] if o.get("scriptpubkey_address") not in (address, None)]
    inputs = [v["prevout"].get("scriptpubkey_address") for v in tx["vin"] if v.get("prevout")]
    if spent and received >= spent and not others_out:
        direction, sender, to = "self", address, address
    elif spent > received:
        biggest = max(others_out, key=lambda o: o["value"], default=None)
        direction, sender, to = "out", address, biggest["scriptpubkey_address"] if biggest else None
    else:
        direction, sender, to = "in", next((a for a in inputs if a and a != address), None), address
    value = to_coin(abs(received - spent), chain.decimals)
    status = tx.get("status") or {}
    confirmed = bool(status.get("confirmed"))
    return Transaction(
        hash=tx["txid"], timestamp=int(status["block_time"]) * 1000 if confirmed else None,
        block=status.get("block_height") if confirmed else None, sender=sender, to=to, value=float(value),
        value_exact=plain(value), token=chain.coin, kind="native", direction=direction,
        status="success" if confirmed else "pending", gas_used=None, gas_price=None,
        fee=float(to_coin(tx.get("fee", 0), chain.decimals)))


def to_block_transfer(tx: dict[str, Any]) -> BlockTransfer:
    """A block's transaction as a transfer: from its first input's address to its largest output paid to an
    address that is not an input (change goes back to an input), the amount all such outputs together."""
    if any(v.get("is_coinbase") for v in tx["vin"]):
        paid = [o for o in tx["vout"] if o.get("scriptpubkey_address")]
        biggest = max(paid, key=lambda o: o["value"], default=None)
        return BlockTransfer(hash=tx["txid"], sender="coinbase", units=sum(o["value"] for o in paid),
                             to=biggest["scriptpubkey_address"] if biggest else None)
    inputs = [v["prevout"].get("scriptpubkey_address") for v in tx["vin"] if v.get("prevout")]
    paid = [o for o in tx["vout"] if o.get("scriptpubkey_address") not in (None, *inputs)]
    biggest = max(paid, key=lambda o: o["value"], default=None)
    return BlockTransfer(hash=tx["txid"], sender=next((a for a in inputs if a), "unknown"),
                         to=biggest["scriptpubkey_address"] if biggest else None,
                         units=sum(o["value"] for o in paid))


class EsploraAdapter:
    """One Esplora API (mempool.space or Blockstream)."""

    needs_key = False
    keyed = False

    def __init__(self, client: UpstreamClient, *, guard: Guard, base_url: str, timeout: float):
        self.name = guard.name
        self.breaker = guard.breaker
        self.upstream = Upstream(guard, base_url, timeout=timeout)
        self._client = client

    async def close(self) -> None:
        """Nothing of its own to close: it calls through the process's shared client."""

    async def _list(self, path: str) -> list[dict[str, Any]]:
        rows = await self._client.get_json(self.upstream, path)
        if not isinstance(rows, list):
            raise UpstreamBadResponseError(f"{self.name} {path} is not a list", details={"upstream": self.name})
        return rows

    async def fetch_transactions(self, chain: Chain, address: str, count: int) -> list[Transaction]:
        """The address's unconfirmed transactions, then its newest confirmed ones, `count` at most."""
        rows = await self._list(f"/address/{address}/txs")
        confirmed = [tx for tx in rows if (tx.get("status") or {}).get("confirmed")]
        # The first answer holds up to 25 confirmed transactions; older pages follow the last one seen.
        while len(rows) < count and len(confirmed) >= PAGE and len(confirmed) % PAGE == 0:
            page = await self._list(f"/address/{address}/txs/chain/{confirmed[-1]['txid']}")
            if not page:
                break
            rows += page
            confirmed += page
        with reading(self.name, "address txs"):
            return [to_transaction(tx, chain, address) for tx in rows[:count]]

    async def fetch_tip_height(self) -> int:
        """The newest block's height (`/blocks/tip/height`, a bare number)."""
        height = await self._client.get_json(self.upstream, "/blocks/tip/height")
        with reading(self.name, "tip height"):
            return int(height)

    async def fetch_block_info(self, height: int) -> tuple[str, int, int] | None:
        """Block `height`'s id, time (unix ms) and transaction count (`/blocks/{height}`); None if not mined yet."""
        blocks = await self._list(f"/blocks/{height}")
        with reading(self.name, "blocks"):
            found = next((b for b in blocks if int(b["height"]) == height), None)
            return (str(found["id"]), int(found["timestamp"]) * 1000, int(found["tx_count"])) if found else None

    async def fetch_block_page(self, block_id: str, start: int) -> list[BlockTransfer]:
        """The block's transactions from index `start`, one page of 25 (`/block/{id}/txs/{start}`)."""
        rows = await self._list(f"/block/{block_id}/txs/{start}")
        with reading(self.name, "block txs"):
            return [to_block_transfer(tx) for tx in rows]
