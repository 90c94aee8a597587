"""Route: an address's transaction history."""

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from dm_shared.envelope import JsonResponse, success
from dm_shared.schemas import ERRORS

from chain_svc.api.deps import SourcesDep
from chain_svc.domain.chains import ChainName
from chain_svc.schemas import TransactionsResponse
from chain_svc.service.history import get_transactions

router = APIRouter(prefix="/v1")
# Etherscan serves at most 10,000 rows of a list (page x offset), so a window ends there.
MAX_WINDOW = 10_000


@router.get("/transactions/{address}", responses={200: {"model": TransactionsResponse}, **ERRORS},
            summary="Transactions of an address on Ethereum, BSC, Polygon or Bitcoin, newest first")
async def transactions(
    sources: SourcesDep,
    address: Annotated[str, Path(min_length=1, max_length=100, description="0x... on EVM chains; 1..., 3... or "
                                                                           "bc1... on Bitcoin")],
    chain: Annotated[ChainName | None, Query(description="Default: ethereum for 0x addresses, else bitcoin")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_WINDOW - 100, description="Newest transactions to skip")] = 0,
    include: Annotated[Literal["tokens"] | None, Query(description="tokens: ERC-20 transfers too (EVM)")] = None,
) -> JsonResponse:
    normalized, picked, items, provenance = await get_transactions(
        sources, address=address, chain=chain, limit=limit, offset=offset, include_tokens=include == "tokens")
    return JsonResponse(success(address=normalized, chain=picked.name, limit=limit, offset=offset, count=len(items),
                                transactions=[t.model_dump(by_alias=True) for t in items],
                                **provenance.to_fields()))
