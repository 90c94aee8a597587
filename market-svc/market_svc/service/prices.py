"""Prices: the consensus price across every source, and an exchange's ticker."""

import asyncio
import statistics
from typing import Any

from dm_shared.envelope import now_ms
from dm_shared.errors import ApiError, InvalidSymbolError, SourceUnsupportedError, UpstreamUnavailableError
from dm_shared.fallback import Source, first_success
from dm_shared.provenance import Attempt, Provenance

from market_svc.domain.assets import ASSETS, USD_STABLECOINS
from market_svc.domain.market import CURRENCIES
from market_svc.domain.symbols import Pair
from market_svc.sources import Sources


def _quote(convert: str) -> str:
    # A bare ticker is priced against USDT on exchanges when USD is asked for.
    return "USDT" if convert == "usd" else convert.upper()


async def get_price(sources: Sources, *, symbol: str, convert: str, include_24h: bool,
                    budget_s: float) -> dict[str, Any]:
    """The median of every source's price that answers within `budget_s`, with each source's value and age.

    Late sources are cancelled and listed as late; failed ones are listed with their error. A stablecoin
    quote (USDT) stands in for USD on exchanges, and the answer says so.
    """
    pair = sources.resolve_with_quote(symbol, _quote(convert))
    tasks = {e.name: asyncio.create_task(_from_exchange(e, pair)) for e in sources.exchanges}
    tasks["coingecko"] = asyncio.create_task(_from_coingecko(sources, pair))
    _done, pending = await asyncio.wait(tasks.values(), timeout=budget_s)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)

    quotes, failed, late = [], [], []
    for name, task in tasks.items():
        if task in pending:
            late.append(name)
            failed.append(Attempt(name, "LATE", f"{name} did not answer within {budget_s:.2f}s"))
        elif isinstance(task.exception(), ApiError):
            exc = task.exception()
            failed.append(Attempt(name, exc.code, exc.message))
        elif task.exception() is not None:
            raise task.exception()
        else:
            quotes.append({"source": name, **task.result()})
    answered = [q for q in quotes if q["price"] is not None]
    if not answered:
        unknown = {InvalidSymbolError.code, SourceUnsupportedError.code}
        if all(a.code in unknown for a in failed):
            listed = sources.listings().pairs
            raise InvalidSymbolError(f"No source lists {pair}", details={"symbol": str(pair),
                                                                         "supported_symbols": sorted(listed)})
        raise UpstreamUnavailableError("No price source answered in time",
                                       details={"attempts": [vars(a) for a in failed]})
    now = now_ms()
    prices = [q["price"] for q in answered]
    median = statistics.median(prices)
    body: dict[str, Any] = {
        "symbol": pair.base, "pair": str(pair), "currency": convert, "price": median,
        "consensus": {
            "sources": [{"source": q["source"], "price": q["price"],
                         "age_ms": max(0, now - q["at"]) if q["at"] else None} for q in answered],
            "spread": max(prices) - min(prices),
            "spread_pct": round((max(prices) - min(prices)) / median * 100, 4) if median else None,
            "late": late,
            "failed": [vars(a) for a in failed if a.code != "LATE"],
        },
    }
    if include_24h:
        # 24h figures from the first source, in priority order, that has them.
        stats = next((q for q in answered if q.get("high_24h") is not None), answered[0])
        body.update(change_24h=stats["change_24h"], high_24h=stats["high_24h"], low_24h=stats["low_24h"],
                    volume_24h=stats["volume_24h"], stats_source=stats["source"])
    notes = []
    if pair.quote in USD_STABLECOINS and convert == "usd":
        notes.append(f"exchange prices are against {pair.quote}, taken as USD")
    provenance = Provenance(source="consensus", fetched_at=now, fallback=answered[0]["source"] != "binance",
                            failed=failed, notes=notes)
    return {**body, **provenance.to_fields()}


async def _from_exchange(exchange, pair: Pair) -> dict[str, Any]:
    ticker = await exchange.fetch_ticker(str(pair))
    return {"price": ticker["last"], "at": ticker.get("timestamp"), "change_24h": ticker.get("percentage"),
            "high_24h": ticker.get("high"), "low_24h": ticker.get("low"), "volume_24h": ticker.get("quoteVolume")}


async def _from_coingecko(sources: Sources, pair: Pair) -> dict[str, Any]:
    asset = ASSETS.get(pair.base)
    currency = "usd" if pair.quote in USD_STABLECOINS | {"USD"} else pair.quote.lower()
    if asset is None or currency not in CURRENCIES:
        raise SourceUnsupportedError(f"coingecko is not asked for {pair}")
    row = await sources.coingecko.fetch_simple_price(coin_id=asset.coingecko_id, currency=currency)
    updated = row.get("last_updated_at")
    return {"price": row[currency], "at": int(updated * 1000) if updated else None,
            "change_24h": row.get(f"{currency}_24h_change"), "high_24h": None, "low_24h": None,
            "volume_24h": row.get(f"{currency}_24h_vol")}


async def get_ticker(sources: Sources, *, symbol: str) -> dict[str, Any]:
    """The 24h ticker of a pair: Binance, then KuCoin, then OKX."""
    pair = str(sources.resolve(symbol))

    def from_exchange(exchange):
        async def fetch() -> dict[str, Any]:
            t = await exchange.fetch_ticker(pair)
            return {"bid": t.get("bid"), "ask": t.get("ask"), "last": t["last"], "volume": t.get("quoteVolume"),
                    "base_volume": t.get("baseVolume"), "change_24h": t.get("percentage"), "high_24h": t.get("high"),
                    "low_24h": t.get("low"), "exchange_timestamp": t.get("timestamp")}
        return Source(exchange.name, fetch)

    ticker, provenance = await first_success([from_exchange(e) for e in sources.exchanges])
    return {"symbol": pair, **ticker, **provenance.to_fields()}
