"""CoinMarketCap: the last fallback for the market list, used only when an API key is configured."""

from typing import Any

from dm_shared.breaker import CircuitBreaker
from dm_shared.errors import SourceUnsupportedError, UpstreamBadResponseError
from dm_shared.upstream import Upstream, UpstreamClient


class CoinMarketCapAdapter:
    """Calls CoinMarketCap's pro API (it has no keyless tier)."""

    name = "coinmarketcap"

    def __init__(self, client: UpstreamClient, *, base_url: str, api_key: str | None, timeout: float,
                 breaker: CircuitBreaker):
        self.keyed = bool(api_key)
        self.upstream = Upstream(self.name, base_url, headers={"X-CMC_PRO_API_KEY": api_key or ""},
                                 timeout=timeout, breaker=breaker)
        self._client = client

    async def fetch_listings(self, *, currency: str, count: int) -> list[dict[str, Any]]:
        """Rows of /v1/cryptocurrency/listings/latest by market cap."""
        if not self.keyed:
            raise SourceUnsupportedError("coinmarketcap needs MARKET_CMC_API_KEY", details={"upstream": self.name})
        payload = await self._client.get_json(self.upstream, "/v1/cryptocurrency/listings/latest",
                                              {"start": 1, "limit": count, "convert": currency.upper(),
                                               "sort": "market_cap"})
        rows = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(rows, list):
            raise UpstreamBadResponseError("coinmarketcap listings has no data list", details={"upstream": self.name})
        return rows
