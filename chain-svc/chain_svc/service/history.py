"""Address history: the chain's explorers in order, one window of `limit` after `offset`, newest first."""

from dm_shared.errors import UpstreamUnavailableError
from dm_shared.fallback import each, first_success
from dm_shared.provenance import Provenance

from chain_svc.domain.addresses import looks_evm, normalize
from chain_svc.domain.chains import CHAINS, Chain
from chain_svc.domain.types import Transaction
from chain_svc.sources import Sources


def pick_chain(address: str, chain: str | None) -> Chain:
    """The chain asked for, or the one the address's form implies (0x...: ethereum, else bitcoin)."""
    if chain is not None:
        return CHAINS[chain]
    return CHAINS["ethereum" if looks_evm(address) else "bitcoin"]


def newest_first(items: list[Transaction]) -> list[Transaction]:
    """Transactions newest first (pending ones, which have no block yet, before all)."""
    return sorted(items, key=lambda t: (t.block is None, t.block or 0, t.timestamp or 0), reverse=True)


async def get_transactions(sources: Sources, *, address: str, chain: str | None, limit: int, offset: int,
                           include_tokens: bool) -> tuple[str, Chain, list[Transaction], Provenance]:
    """The address (normalized), its chain, `limit` transactions after the newest `offset`, and their provenance.

    The address is checked before any upstream call (INVALID_ADDRESS)."""
    picked = pick_chain(address, chain)
    address = normalize(address, picked)
    wanted = offset + limit

    async def from_evm(adapter) -> list[Transaction]:
        items = await adapter.fetch_transactions(picked, address, wanted)
        if include_tokens:
            items = newest_first(items + await adapter.fetch_token_transfers(picked, address, wanted))
        return items[offset:wanted]

    async def from_bitcoin(adapter) -> list[Transaction]:
        return (await adapter.fetch_transactions(picked, address, wanted))[offset:wanted]

    sources_in_order = each(sources.evm, from_evm) if picked.family == "evm" else each(sources.bitcoin, from_bitcoin)
    try:
        items, provenance = await first_success(sources_in_order)
    except UpstreamUnavailableError as exc:
        plan = [a for a in exc.details.get("attempts", []) if a["code"] == "UPSTREAM_PLAN_REQUIRED"]
        if plan:
            exc.message = (f"No source could answer: {picked.name} needs a paid Etherscan plan "
                           f"(set CHAIN_ETHERSCAN_API_KEY to a paid plan's key); {plan[0]['message']}")
        raise
    if picked.family == "evm" and include_tokens:
        provenance.notes.append("token transfers (tokentx) are merged with the native transactions, newest first")
    return address, picked, items, provenance
