"""Whale Alert's API (v1, keyed only): recent large transactions with the owners Whale Alert knows."""

from decimal import Decimal
from typing import Any

from dm_shared.adapter import reading
from dm_shared.errors import SourceUnsupportedError, UpstreamBadResponseError
from dm_shared.guard import Guard
from dm_shared.names import Provider
from dm_shared.upstream import Upstream, UpstreamClient

from chain_svc.domain.labels import Owner
from chain_svc.domain.types import WhaleAlert
from chain_svc.domain.whales import classify, labelled

KEY_SETTING = "CHAIN_WHALE_ALERT_API_KEY"
# Whale Alert's own transaction types that are not plain transfers.
_OWN_TYPES = {"mint": "mint", "burn": "burn"}
# Whale Alert writes Ethereum addresses without 0x.
_HEX_CHAINS = {"ethereum", "polygon"}


def _address(chain: str, end: dict[str, Any]) -> str:
    address = str(end.get("address", ""))
    return f"0x{address}" if chain in _HEX_CHAINS and not address.startswith("0x") else address


def _owner(end: dict[str, Any]) -> Owner | None:
    name, kind = end.get("owner"), end.get("owner_type")
    return Owner(str(name), str(kind)) if name and kind and kind != "unknown" else None


def to_alert(row: dict[str, Any]) -> WhaleAlert:
    """A Whale Alert transaction as the suite's alert (owners as Whale Alert named them)."""
    chain = row["blockchain"]
    sender, receiver = _address(chain, row["from"]), _address(chain, row["to"])
    from_owner, to_owner = _owner(row["from"]), _owner(row["to"])
    kind = _OWN_TYPES.get(row.get("transaction_type", "")) or classify(sender, receiver, from_owner, to_owner)
    amount, usd = Decimal(str(row["amount"])), Decimal(str(row["amount_usd"]))
    return WhaleAlert(
        id=f"whale_{row['id']}", timestamp=int(row["timestamp"]) * 1000, hash=row["hash"],
        sender=labelled(sender, from_owner), to=labelled(receiver, to_owner), from_address=sender,
        to_address=receiver, from_owner=from_owner.name if from_owner else None,
        to_owner=to_owner.name if to_owner else None, amount=float(amount), token=str(row["symbol"]).upper(),
        usd_value=float(usd), price_usd=float(usd / amount) if amount else None, chain=chain, type=kind,
        source=Provider.WHALE_ALERT)


class WhaleAlertAdapter:
    """Whale Alert's REST API; without a key it is skipped (it has no free tier any more)."""

    name = Provider.WHALE_ALERT
    needs_key = True

    def __init__(self, client: UpstreamClient, *, guard: Guard, base_url: str, api_key: str | None, timeout: float):
        self.keyed = bool(api_key)
        self.breaker = guard.breaker
        self.upstream = Upstream(guard, base_url, headers={"X-WA-API-KEY": api_key or ""}, timeout=timeout)
        self._client = client

    async def close(self) -> None:
        """Nothing of its own to close: it calls through the process's shared client."""

    async def fetch_alerts(self, *, min_usd: float, start_s: int, limit: int) -> list[WhaleAlert]:
        """Transactions worth `min_usd` or more since `start_s` (unix seconds), newest first."""
        if not self.keyed:
            raise SourceUnsupportedError(f"whale_alert needs {KEY_SETTING}", details={"upstream": self.name})
        body = await self._client.get_json(self.upstream, "/transactions", {
            "min_value": int(min_usd), "start": start_s, "limit": max(1, min(limit, 100))})
        if not isinstance(body, dict) or body.get("result") != "success":
            raise UpstreamBadResponseError("whale_alert answered without a result", details={"upstream": self.name})
        with reading(self.name, "transactions"):
            alerts = [to_alert(row) for row in body.get("transactions") or []]
        return sorted(alerts, key=lambda a: a.timestamp, reverse=True)
