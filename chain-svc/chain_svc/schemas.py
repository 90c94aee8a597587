"""Response models of chain-svc, for the OpenAPI document: the suite's `Sourced` envelope around the
domain types the adapters return."""

from pydantic import Field

from dm_shared.schemas import Sourced

from chain_svc.domain.types import Transaction, WhaleAlert


class TransactionsResponse(Sourced):
    address: str = Field(description="The address as the chain's explorers take it (EVM: lower case)")
    chain: str
    limit: int
    offset: int
    count: int
    transactions: list[Transaction]


class WhaleAlertsResponse(Sourced):
    min_value: float
    chain: str | None
    count: int
    alerts: list[WhaleAlert]
