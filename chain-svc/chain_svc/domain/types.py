"""chain-svc's own types. Adapters map explorer payloads into these in one place each; the OpenAPI document
shows them as they are. `from` is a Python keyword, so it is the field `sender` under the alias `from`."""

from typing import Literal

from pydantic import ConfigDict, Field

from dm_shared.schemas import Model

Status = Literal["success", "failed", "pending"]
Direction = Literal["in", "out", "self"]
AlertType = Literal["exchange_inflow", "exchange_outflow", "exchange_internal", "transfer", "mint", "burn"]


class Aliased(Model):
    """A model whose fields may be given and shown under their aliases (`from`)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Transaction(Aliased):
    """One transaction (or token transfer) of an address, as seen from that address."""

    hash: str
    timestamp: int | None = Field(description="Block time, unix ms (null for a pending Bitcoin transaction)")
    block: int | None
    sender: str | None = Field(alias="from")
    to: str | None = Field(description="Recipient; null for a contract creation")
    value: float = Field(description="Amount in the coin or token (from wei or satoshis, computed with Decimal)")
    value_exact: str = Field(description="The same amount as an exact decimal string")
    token: str = Field(description="The coin (ETH, BNB, POL, BTC) or the token's symbol")
    token_contract: str | None = Field(None, description="The token's contract, for token transfers")
    token_decimals: int | None = Field(None, description="The token's decimals, for token transfers")
    kind: Literal["native", "token"]
    direction: Direction = Field(description="Whether the amount came in to the address, went out, or both")
    status: Status
    gas_used: int | None = Field(description="EVM only")
    gas_price: float | None = Field(description="EVM only, in gwei")
    fee: float | None = Field(description="Fee paid, in the coin (EVM: gas used x gas price)")


class WhaleAlert(Aliased):
    """A large transfer: who sent it to whom (with the owner when known), how much, and what it was worth."""

    id: str
    timestamp: int = Field(description="Block time, unix ms")
    hash: str
    sender: str = Field(alias="from", description="Address, with its owner in parentheses when known")
    to: str = Field(description="Address, with its owner in parentheses when known")
    from_address: str
    to_address: str
    from_owner: str | None
    to_owner: str | None
    amount: float = Field(description="In `token`")
    token: str
    usd_value: float
    price_usd: float | None = Field(description="The USD price of `token` the value was computed with")
    chain: str
    type: AlertType
    block: int | None = None
    source: str = Field(description="Where the alert came from: the detector's block scan or whale_alert")
