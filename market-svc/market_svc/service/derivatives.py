"""Perpetual-swap metrics: funding rate and open interest (Binance USD-M, then OKX swaps)."""

from typing import Any

from dm_shared.fallback import Source, first_success

from market_svc.sources import Sources


def _venues(sources: Sources) -> list:
    return [sources.binance, sources.okx]


async def get_funding(sources: Sources, *, symbol: str) -> dict[str, Any]:
    """Current funding of the pair's USDT-margined perpetual."""
    pair = sources.resolve(symbol)

    def make(exchange):
        async def fetch() -> dict[str, Any]:
            f = await exchange.fetch_funding_rate(pair.perpetual)
            return {"funding_rate": f["fundingRate"], "funding_time": f.get("fundingTimestamp"),
                    "next_funding_time": f.get("nextFundingTimestamp"), "interval": f.get("interval"),
                    "mark_price": f.get("markPrice"), "index_price": f.get("indexPrice"),
                    "exchange_timestamp": f.get("timestamp")}
        return Source(exchange.name, fetch)

    funding, provenance = await first_success([make(e) for e in _venues(sources)])
    return {"symbol": str(pair), "contract": pair.perpetual, **funding, **provenance.to_fields()}


async def get_open_interest(sources: Sources, *, symbol: str) -> dict[str, Any]:
    """Open interest of the pair's USDT-margined perpetual, in the base asset and in the quote."""
    pair = sources.resolve(symbol)

    def make(exchange):
        async def fetch() -> dict[str, Any]:
            oi = await exchange.fetch_open_interest(pair.perpetual)
            return {"open_interest": oi.get("openInterestAmount"), "open_interest_value": oi.get("openInterestValue"),
                    "exchange_timestamp": oi.get("timestamp")}
        return Source(exchange.name, fetch)

    interest, provenance = await first_success([make(e) for e in _venues(sources)])
    return {"symbol": str(pair), "contract": pair.perpetual, **interest, **provenance.to_fields()}
