"""Perpetual-swap metrics: funding rate and open interest (Binance USD-M, then OKX swaps)."""

from typing import Any

from dm_shared.fallback import each

from market_svc.sources import Sources


def _venues(sources: Sources) -> list:
    return [sources.binance, sources.okx]


async def get_funding(sources: Sources, *, symbol: str) -> dict[str, Any]:
    """Current funding of the pair's USDT-margined perpetual."""
    deadline = sources.deadline("funding")
    pair = sources.resolve(symbol)
    funding, provenance = await sources.first(each(_venues(sources), lambda e: e.fetch_funding(pair.perpetual)),
                                              deadline)
    return {"symbol": str(pair), "contract": pair.perpetual, **funding.model_dump(), **provenance.to_fields()}


async def get_open_interest(sources: Sources, *, symbol: str) -> dict[str, Any]:
    """Open interest of the pair's USDT-margined perpetual, in the base asset and in the quote."""
    deadline = sources.deadline("open_interest")
    pair = sources.resolve(symbol)
    interest, provenance = await sources.first(
        each(_venues(sources), lambda e: e.fetch_open_interest(pair.perpetual)), deadline)
    return {"symbol": str(pair), "contract": pair.perpetual, **interest.model_dump(), **provenance.to_fields()}
