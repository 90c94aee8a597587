"""Etherscan API V2 and Etherscan-compatible explorers: address history, token transfers, and blocks with
their transactions (the `proxy` module). Errors come as HTTP 200 with `status "0"`; they are read inside
the guard (`check`), so "Max rate limit reached" pauses the explorer for every replica like a 429."""

from typing import Any

from dm_shared.adapter import reading
from dm_shared.errors import (
    SourceUnsupportedError,
    UpstreamBadResponseError,
    UpstreamError,
    UpstreamPlanError,
    UpstreamRateLimitedError,
    UpstreamRefusedError,
    UpstreamUnavailableError,
)
from dm_shared.guard import Guard
from dm_shared.upstream import Upstream, UpstreamClient

from chain_svc.domain.blocks import Block, BlockTransfer
from chain_svc.domain.chains import Chain
from chain_svc.domain.types import Transaction
from chain_svc.domain.units import plain, to_coin, to_gwei

# "No transactions found" (txlist, tokentx) and "No records found" are empty answers, not errors.
EMPTY_MESSAGES = ("no transactions found", "no records found")
# Etherscan's per-second limit: one second is the pause it asks for.
RATE_LIMIT_PAUSE = 1.0


def check_answer(name: str, body: Any) -> None:
    """Raise the suite's error for an Etherscan-style error answer (HTTP 200, `status "0"` or a JSON-RPC error)."""
    where = {"upstream": name}
    if not isinstance(body, dict):
        raise UpstreamBadResponseError(f"{name} answered something other than a JSON object", details=where)
    if "jsonrpc" in body:
        if isinstance(body.get("error"), dict):
            raise UpstreamError(f"{name}: {body['error'].get('message', 'JSON-RPC error')}", details=where)
        return
    if body.get("status") != "0":
        return
    message = str(body.get("message", ""))
    text = body["result"] if isinstance(body.get("result"), str) else message
    lowered = text.lower()
    if message.lower().startswith(EMPTY_MESSAGES):
        return
    if "rate limit" in lowered:
        raise UpstreamRateLimitedError(f"{name}: {text}", retry_after=RATE_LIMIT_PAUSE, details=where)
    if "temporarily unavailable" in lowered:
        raise UpstreamUnavailableError(f"{name}: {text}", details=where)
    if "upgrade" in lowered or "not supported for this chain" in lowered:
        raise UpstreamPlanError(f"{name}'s plan does not cover this: {text}", details={**where, "status": 402})
    if "api key" in lowered:
        raise UpstreamRefusedError(f"{name} refused the API key: {text}", details={**where, "status": 401})
    raise UpstreamRefusedError(f"{name} answered NOTOK: {text}", details={**where, "status": 400})


def _status(row: dict[str, Any]) -> str:
    if row.get("isError") == "1" or row.get("txreceipt_status") == "0":
        return "failed"
    return "success"


def _direction(address: str, sender: str | None, to: str | None) -> str:
    sender, to = (sender or "").lower(), (to or "").lower()
    if sender == address and to == address:
        return "self"
    return "out" if sender == address else "in"


def to_transaction(row: dict[str, Any], chain: Chain, address: str) -> Transaction:
    """A `txlist` row (a native transfer) as the suite's Transaction."""
    value = to_coin(row["value"], chain.decimals)
    gas_used, gas_price = int(row.get("gasUsed") or 0), int(row.get("gasPrice") or 0)
    return Transaction(
        hash=row["hash"], timestamp=int(row["timeStamp"]) * 1000, block=int(row["blockNumber"]),
        sender=row["from"], to=row.get("to") or None, value=float(value), value_exact=plain(value), token=chain.coin,
        kind="native", direction=_direction(address, row["from"], row.get("to")), status=_status(row),
        gas_used=gas_used, gas_price=float(to_gwei(gas_price)),
        fee=float(to_coin(gas_used * gas_price, chain.decimals)))


def to_token_transfer(row: dict[str, Any], chain: Chain, address: str) -> Transaction:
    """A `tokentx` row (an ERC-20 transfer) with the token's own decimals."""
    decimals = int(row["tokenDecimal"])
    value = to_coin(row["value"], decimals)
    gas_used, gas_price = int(row.get("gasUsed") or 0), int(row.get("gasPrice") or 0)
    return Transaction(
        hash=row["hash"], timestamp=int(row["timeStamp"]) * 1000, block=int(row["blockNumber"]),
        sender=row["from"], to=row.get("to") or None, value=float(value), value_exact=plain(value),
        token=row["tokenSymbol"], token_contract=row["contractAddress"], token_decimals=decimals, kind="token",
        direction=_direction(address, row["from"], row.get("to")), status="success", gas_used=gas_used,
        gas_price=float(to_gwei(gas_price)), fee=float(to_coin(gas_used * gas_price, chain.decimals)))


def to_block(result: dict[str, Any]) -> Block:
    """An `eth_getBlockByNumber` result with full transactions."""
    return Block(number=int(result["number"], 16), timestamp=int(result["timestamp"], 16) * 1000, transfers=[
        BlockTransfer(hash=tx["hash"], sender=tx["from"], to=tx.get("to"), units=int(tx["value"], 16))
        for tx in result["transactions"]])


class EtherscanAdapter:
    """One Etherscan-compatible explorer: Etherscan V2 itself, or a fallback with the same modules."""

    def __init__(self, client: UpstreamClient, *, guard: Guard, url: str, api_key: str | None, needs_key: bool,
                 key_setting: str, timeout: float):
        self.name = guard.name
        self.breaker = guard.breaker
        self.needs_key, self.keyed, self.key_setting = needs_key, bool(api_key), key_setting
        self._template = "{chainid}" in url
        # A URL template puts the chain id in the path: call it whole, from an empty base.
        self.upstream = Upstream(guard, "" if self._template else url, timeout=timeout)
        self._url, self._key, self._client = url, api_key, client
        # Chains this explorer's plan was seen to refuse, with its words (shown in /health).
        self.refused: dict[str, str] = {}

    async def close(self) -> None:
        """Nothing of its own to close: it calls through the process's shared client."""

    async def _get(self, chain: Chain, params: dict[str, Any]) -> Any:
        if self.needs_key and not self.keyed:
            raise SourceUnsupportedError(f"{self.name} needs {self.key_setting}", details={"upstream": self.name})
        path = self._url.replace("{chainid}", str(chain.chain_id)) if self._template else ""
        query = {**params, **({} if self._template else {"chainid": chain.chain_id})}
        if self._key:
            query["apikey"] = self._key
        try:
            return await self._client.get_json(self.upstream, path, query, check=lambda b: check_answer(self.name, b))
        except UpstreamPlanError as exc:
            self.refused[chain.name] = exc.message
            raise

    async def _rows(self, chain: Chain, action: str, address: str, count: int) -> list[dict[str, Any]]:
        body = await self._get(chain, {"module": "account", "action": action, "address": address,
                                       "startblock": 0, "endblock": 99999999, "page": 1, "offset": count,
                                       "sort": "desc"})
        rows = body.get("result")
        if not isinstance(rows, list):
            raise UpstreamBadResponseError(f"{self.name} {action} has no result list", details={"upstream": self.name})
        return rows

    async def fetch_transactions(self, chain: Chain, address: str, count: int) -> list[Transaction]:
        """The address's newest `count` transactions (`txlist`, newest first)."""
        rows = await self._rows(chain, "txlist", address, count)
        with reading(self.name, "txlist"):
            return [to_transaction(row, chain, address) for row in rows]

    async def fetch_token_transfers(self, chain: Chain, address: str, count: int) -> list[Transaction]:
        """The address's newest `count` ERC-20 transfers (`tokentx`, newest first)."""
        rows = await self._rows(chain, "tokentx", address, count)
        with reading(self.name, "tokentx"):
            return [to_token_transfer(row, chain, address) for row in rows]

    async def fetch_block_number(self, chain: Chain) -> int:
        """The chain's newest block number (`eth_blockNumber`)."""
        body = await self._get(chain, {"module": "proxy", "action": "eth_blockNumber"})
        with reading(self.name, "eth_blockNumber"):
            return int(body["result"], 16)

    async def fetch_block(self, chain: Chain, number: int) -> Block | None:
        """Block `number` with its transactions (`eth_getBlockByNumber`, full); None when not mined yet."""
        body = await self._get(chain, {"module": "proxy", "action": "eth_getBlockByNumber", "tag": hex(number),
                                       "boolean": "true"})
        if body.get("result") is None:
            return None
        with reading(self.name, "eth_getBlockByNumber"):
            return to_block(body["result"])
