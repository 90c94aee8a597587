"""CoinMarketCap: the last fallback for the market list, used only when an API key is configured."""

from typing import Any

from dm_shared.adapter import reading
from dm_shared.errors import SourceUnsupportedError, UpstreamBadResponseError
from dm_shared.guard import Guard
from dm_shared.names import Provider
from dm_shared.upstream import Upstream, UpstreamClient

from market_svc.domain.types import MarketItem

KEY_SETTING = "MARKET_CMC_API_KEY"


def to_market_item(row: dict[str, Any], currency: str) -> MarketItem:
    """A market item from a /v1/cryptocurrency/listings/latest row priced in `currency`."""
    quote = (row.get("quote") or {}).get(currency.upper(), {})
    return MarketItem(
        symbol=row["symbol"], name=row.get("name"), id=row.get("slug"), rank=row.get("cmc_rank"),
        price=quote.get("price"), change_24h=quote.get("percent_change_24h"),
        change_7d=quote.get("percent_change_7d"), volume_24h=quote.get("volume_24h"),
        market_cap=quote.get("market_cap"), circulating_supply=row.get("circulating_supply"),
        total_supply=row.get("total_supply"), ath=None, ath_date=None, atl=None, atl_date=None,
        last_updated=quote.get("last_updated") or row.get("last_updated"))


class CoinMarketCapAdapter:
    """CoinMarketCap's pro API (it has no keyless tier)."""

    name = Provider.COINMARKETCAP
    needs_key = True

    def __init__(self, client: UpstreamClient, *, guard: Guard, base_url: str, api_key: str | None,
                 timeout: float):
        self.keyed = bool(api_key)
        self.upstream = Upstream(guard, base_url, headers={"X-CMC_PRO_API_KEY": api_key or ""}, timeout=timeout)
        self.guard, self.breaker = guard, guard.breaker
        self._client = client

    async def close(self) -> None:
        """Nothing of its own to close: it calls through the process's shared client."""

    async def fetch_listings(self, *, currency: str, count: int) -> list[MarketItem]:
        """The largest `count` coins by market cap, priced in `currency`."""
        if not self.keyed:
            raise SourceUnsupportedError(f"coinmarketcap needs {KEY_SETTING}", details={"upstream": self.name})
        payload = await self._client.get_json(self.upstream, "/v1/cryptocurrency/listings/latest",
                                              {"start": 1, "limit": count, "convert": currency.upper(),
                                               "sort": "market_cap"})
        rows = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(rows, list):
            raise UpstreamBadResponseError("coinmarketcap listings has no data list", details={"upstream": self.name})
        with reading(self.name, "listings"):
            return [to_market_item(r, currency) for r in rows]
