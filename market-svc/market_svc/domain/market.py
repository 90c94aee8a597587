"""The market list: one item shape whatever the source, sorting and the supported query values."""

from datetime import UTC, datetime
from typing import Any, Literal

SortKey = Literal["rank", "volume", "price_change"]
Category = Literal["all", "defi", "nft", "meme"]

# CoinGecko's /simple/supported_vs_currencies (recorded, see the sandbox's data README): the currencies
# a market list can be priced in.
CURRENCIES = frozenset(
    "btc eth ltc bch bnb eos xrp xlm usd aed ars aud bdt bhd bmd brl cad chf clp cny czk dkk eur gbp "
    "hkd huf idr ils inr jpy krw kwd lkr mmk mxn myr nok nzd php pkr pln rub sar sek sgd thb try twd "
    "vef vnd zar xdr xag xau".split()
)

# CoinGecko category ids behind the spec's category names.
COINGECKO_CATEGORIES: dict[str, str] = {
    "defi": "decentralized-finance-defi", "nft": "non-fungible-tokens-nft", "meme": "meme-token",
}


def _date(value: str | None) -> str | None:
    return value[:10] if value else None


def from_coingecko(row: dict[str, Any]) -> dict[str, Any]:
    """A market item from a CoinGecko /coins/markets row."""
    return {
        "symbol": str(row.get("symbol", "")).upper(),
        "name": row.get("name"),
        "id": row.get("id"),
        "rank": row.get("market_cap_rank"),
        "price": row.get("current_price"),
        "change_24h": row.get("price_change_percentage_24h"),
        "change_7d": row.get("price_change_percentage_7d_in_currency"),
        "volume_24h": row.get("total_volume"),
        "market_cap": row.get("market_cap"),
        "circulating_supply": row.get("circulating_supply"),
        "total_supply": row.get("total_supply"),
        "ath": row.get("ath"),
        "ath_date": _date(row.get("ath_date")),
        "atl": row.get("atl"),
        "atl_date": _date(row.get("atl_date")),
        "last_updated": row.get("last_updated"),
    }


def from_exchange_ticker(ticker: dict[str, Any], base: str) -> dict[str, Any]:
    """A market item from a ccxt ticker; an exchange knows no market cap, supply or all-time figures."""
    return {
        "symbol": base, "name": None, "id": None, "rank": None,
        "price": ticker.get("last"),
        "change_24h": ticker.get("percentage"),
        "change_7d": None,
        "volume_24h": ticker.get("quoteVolume"),
        "market_cap": None, "circulating_supply": None, "total_supply": None,
        "ath": None, "ath_date": None, "atl": None, "atl_date": None,
        "last_updated": ticker.get("datetime"),
    }


def from_cmc(row: dict[str, Any], currency: str) -> dict[str, Any]:
    """A market item from a CoinMarketCap /v1/cryptocurrency/listings/latest row."""
    quote = (row.get("quote") or {}).get(currency.upper(), {})
    return {
        "symbol": row.get("symbol"), "name": row.get("name"), "id": row.get("slug"),
        "rank": row.get("cmc_rank"),
        "price": quote.get("price"),
        "change_24h": quote.get("percent_change_24h"),
        "change_7d": quote.get("percent_change_7d"),
        "volume_24h": quote.get("volume_24h"),
        "market_cap": quote.get("market_cap"),
        "circulating_supply": row.get("circulating_supply"),
        "total_supply": row.get("total_supply"),
        "ath": None, "ath_date": None, "atl": None, "atl_date": None,
        "last_updated": quote.get("last_updated") or row.get("last_updated"),
    }


def _descending(key: str):
    # Missing values sort last whatever the direction.
    return lambda item: (item.get(key) is None, -(item.get(key) or 0))


def sort_items(items: list[dict[str, Any]], sort: SortKey) -> list[dict[str, Any]]:
    """Items ordered as asked: rank ascending, or volume / 24h change descending."""
    if sort == "rank":
        return sorted(items, key=lambda i: (i.get("rank") is None, i.get("rank") or 0))
    return sorted(items, key=_descending("volume_24h" if sort == "volume" else "change_24h"))


def newest(items: list[dict[str, Any]]) -> str | None:
    """The latest `last_updated` among items, as ISO-8601 UTC."""
    stamps = [i["last_updated"] for i in items if i.get("last_updated")]
    if not stamps:
        return None
    parsed = max(datetime.fromisoformat(s.replace("Z", "+00:00")) for s in stamps)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{parsed.microsecond // 1000:03d}Z"
