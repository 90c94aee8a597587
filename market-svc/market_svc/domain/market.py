"""The market list: sorting, and the query values it supports."""

from datetime import UTC, datetime
from typing import Literal

from dm_shared.assets import ASSETS

from market_svc.domain.types import MarketItem

SortKey = Literal["rank", "volume", "price_change"]
Category = Literal["all", "defi", "nft", "meme"]

# CoinGecko's /simple/supported_vs_currencies (recorded, see the sandbox's data README): the currencies
# a market list can be priced in.
CURRENCIES = frozenset(
    "btc eth ltc bch bnb eos xrp xlm usd aed ars aud bdt bhd bmd brl cad chf clp cny czk dkk eur gbp "
    "hkd huf idr ils inr jpy krw kwd lkr mmk mxn myr nok nzd php pkr pln rub sar sek sgd thb try twd "
    "vef vnd zar xdr xag xau".split()
)

# What a currency parameter accepts: CoinGecko's codes, lower- or upper-case (the OpenAPI enum).
CURRENCY_SPELLINGS = tuple(sorted(CURRENCIES)) + tuple(sorted(c.upper() for c in CURRENCIES))

# CoinGecko category ids behind the spec's category names.
COINGECKO_CATEGORIES: dict[str, str] = {
    "defi": "decentralized-finance-defi", "nft": "non-fungible-tokens-nft", "meme": "meme-token",
}


def _descending(field: str):
    # Missing values sort last whatever the direction.
    return lambda item: (getattr(item, field) is None, -(getattr(item, field) or 0))


def sort_items(items: list[MarketItem], sort: SortKey) -> list[MarketItem]:
    """Items ordered as asked: rank ascending, or volume / 24h change descending."""
    if sort == "rank":
        return sorted(items, key=lambda i: (i.rank is None, i.rank or 0))
    return sorted(items, key=_descending("volume_24h" if sort == "volume" else "change_24h"))


def newest(items: list[MarketItem]) -> str | None:
    """The latest `last_updated` among items, as ISO-8601 UTC."""
    stamps = [i.last_updated for i in items if i.last_updated]
    if not stamps:
        return None
    parsed = max(datetime.fromisoformat(s) for s in stamps)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{parsed.microsecond // 1000:03d}Z"


def select(items: list[MarketItem], *, symbols: list[str] | None,
           ids: list[str] | None) -> tuple[list[MarketItem], list[str]]:
    """The items asked for by ticker or CoinGecko id, and the ones asked for that are not there. A ticker of
    the asset registry means its coin (BTC is bitcoin, never another coin called btc); another ticker means
    the largest coin by market cap that has it."""
    if symbols is None and ids is None:
        return items, []
    chosen: dict[int, MarketItem] = {}
    not_found = []
    for wanted in symbols or []:
        asset = ASSETS.get(wanted)
        match = next((i for i in items if (i.id == asset.coingecko_id if asset and i.id else i.symbol == wanted)), None)
        if match is None:
            not_found.append(wanted)
        else:
            chosen[id(match)] = match
    for wanted in ids or []:
        match = next((i for i in items if i.id == wanted), None)
        if match is None:
            not_found.append(wanted)
        else:
            chosen[id(match)] = match
    return list(chosen.values()), not_found
