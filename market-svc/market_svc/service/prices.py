"""Prices: the consensus price across every source, and an exchange's ticker."""

import asyncio
from typing import Any

from dm_shared.assets import ASSETS, USD_STABLECOINS
from dm_shared.clock import now_ms
from dm_shared.errors import ApiError, InvalidSymbolError, SourceUnsupportedError, UpstreamUnavailableError
from dm_shared.fallback import each, no_answer
from dm_shared.names import Provider, Venue
from dm_shared.provenance import Attempt, Provenance
from dm_shared.symbols import Pair

from market_svc.domain.consensus import agree
from market_svc.domain.market import CURRENCIES
from market_svc.domain.types import Quote
from market_svc.sources import Sources


def _quote(convert: str) -> str:
    # A bare ticker is priced against USDT on exchanges when USD is asked for.
    return "USDT" if convert == "usd" else convert.upper()


async def get_price(sources: Sources, *, symbol: str, convert: str, include_24h: bool,
                    budget_s: float) -> dict[str, Any]:
    """The consensus of every source that answers within `budget_s` (domain/consensus.py): the median of the
    fresh quotes that agree, with each source's value, age and whether it was used.

    Late sources are cancelled and listed as late; failed ones are listed with their error. A stablecoin
    quote (USDT) stands in for USD on exchanges, and the answer says so. When no quote is usable the answer
    is 503 (and the gateway serves its stale cached price, marked), never a number nobody vouches for.
    """
    pair = sources.resolve(symbol, _quote(convert))
    tasks = {e.name: asyncio.create_task(e.fetch_quote(str(pair))) for e in sources.exchanges}
    tasks[Provider.COINGECKO] = asyncio.create_task(_from_coingecko(sources, pair))
    _, pending = await asyncio.wait(tasks.values(), timeout=budget_s)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)

    quotes: list[tuple[str, Quote]] = []
    failed, late, invalid = [], [], []
    for name, task in tasks.items():
        if task in pending:
            late.append(name)
            failed.append(Attempt(name, "LATE", f"{name} did not answer within {budget_s:.2f}s"))
        elif isinstance(task.exception(), ApiError):
            exc = task.exception()
            failed.append(Attempt.of(name, exc))
            if isinstance(exc, InvalidSymbolError):
                invalid.append(exc)
        elif task.exception() is not None:
            raise task.exception()
        else:
            quotes.append((name, task.result()))
    if not quotes:
        unknown = InvalidSymbolError(f"No source lists {pair}", details={"symbol": str(pair)})
        raise no_answer(failed, [unknown, *invalid], sources.listings().pairs)
    now = now_ms()
    key = f"{pair}:{convert}"
    settings = sources.settings
    weighed = agree(quotes, now=now, max_age_ms={k: int(v * 1000) for k, v in settings.consensus_max_age.items()},
                    default_max_age_ms=int(settings.consensus_max_age_seconds * 1000),
                    threshold=settings.consensus_outlier_pct / 100, outliers_before=sources.outliers.get(key, set()))
    sources.outliers[key] = weighed.outliers
    entries = [e.to_dict() for e in weighed.entries]
    if weighed.price is None:
        raise UpstreamUnavailableError(f"No source vouches for a price of {pair}: the quotes that answered are "
                                       "stale or disagree", details={"sources": entries,
                                                                     "attempts": [a.to_dict() for a in failed]})
    used = weighed.used
    body: dict[str, Any] = {
        "symbol": pair.base, "pair": str(pair), "currency": convert, "price": weighed.price,
        "consensus": {
            "sources": entries,
            "spread": weighed.spread,
            "spread_pct": round(weighed.spread / weighed.price * 100, 4) if weighed.price else None,
            "late": late,
            "failed": [a.to_dict() for a in failed if a.code != "LATE"],
        },
    }
    if include_24h:
        # 24h figures from the first used source, in priority order, that has them.
        stats = next((e for e in used if e.quote.high_24h is not None), used[0])
        body.update(change_24h=stats.quote.change_24h, high_24h=stats.quote.high_24h, low_24h=stats.quote.low_24h,
                    volume_24h=stats.quote.volume_24h, stats_source=stats.source)
    notes = []
    if pair.quote in USD_STABLECOINS and convert == "usd":
        notes.append(f"exchange prices are against {pair.quote}, taken as USD")
    provenance = Provenance(source="consensus", fetched_at=now, fallback=used[0].source != Venue.BINANCE,
                            failed=failed, notes=notes)
    return {**body, **provenance.to_fields()}


async def _from_coingecko(sources: Sources, pair: Pair) -> Quote:
    asset = ASSETS.get(pair.base)
    currency = "usd" if pair.quote in USD_STABLECOINS | {"USD"} else pair.quote.lower()
    if asset is None or currency not in CURRENCIES:
        raise SourceUnsupportedError(f"coingecko is not asked for {pair}")
    return await sources.coingecko.fetch_quote(coin_id=asset.coingecko_id, currency=currency)


async def get_ticker(sources: Sources, *, symbol: str) -> dict[str, Any]:
    """The 24h ticker of a pair: Binance, then KuCoin, then OKX."""
    deadline = sources.deadline("ticker")
    pair = str(sources.resolve(symbol))
    ticker, provenance = await sources.first(each(sources.exchanges, lambda e: e.fetch_ticker(pair)), deadline)
    return {**ticker.model_dump(), **provenance.to_fields()}
