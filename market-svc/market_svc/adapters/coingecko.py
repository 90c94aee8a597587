"""CoinGecko: the market list and coarse OHLC, over the shared upstream client."""

from typing import Any

from dm_shared.breaker import CircuitBreaker
from dm_shared.errors import UpstreamBadResponseError
from dm_shared.upstream import Upstream, UpstreamClient

MAX_PER_PAGE = 250


class CoinGeckoAdapter:
    """Calls CoinGecko's public (or, with a key, pro) API."""

    name = "coingecko"

    def __init__(self, client: UpstreamClient, *, base_url: str, api_key: str | None, timeout: float,
                 breaker: CircuitBreaker):
        headers = {"x-cg-pro-api-key": api_key} if api_key else {}
        self.upstream = Upstream(self.name, base_url, headers=headers, timeout=timeout, breaker=breaker)
        self._client = client

    async def fetch_markets(self, *, currency: str, order: str, count: int, category: str | None) -> list[dict[str, Any]]:
        """Rows of /coins/markets, `count` at most, across as many pages as that takes."""
        rows: list[dict[str, Any]] = []
        page = 1
        while len(rows) < count:
            per_page = min(MAX_PER_PAGE, count)
            params = {"vs_currency": currency, "order": order, "per_page": per_page, "page": page,
                      "sparkline": "false", "price_change_percentage": "24h,7d"}
            if category:
                params["category"] = category
            batch = await self._client.get_json(self.upstream, "/coins/markets", params)
            if not isinstance(batch, list) or not all(isinstance(r, dict) for r in batch):
                raise UpstreamBadResponseError("coingecko /coins/markets is not a list of coins",
                                               details={"upstream": self.name})
            rows.extend(batch)
            if len(batch) < per_page:
                break
            page += 1
        return rows[:count]

    async def fetch_ohlc(self, *, coin_id: str, currency: str, days: int) -> list[list[Any]]:
        """Rows `[t, o, h, l, c]` of /coins/{id}/ohlc (CoinGecko picks the candle size from `days`)."""
        rows = await self._client.get_json(self.upstream, f"/coins/{coin_id}/ohlc",
                                           {"vs_currency": currency, "days": days})
        if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) >= 5 for r in rows):
            raise UpstreamBadResponseError("coingecko /ohlc is not a list of candles", details={"upstream": self.name})
        return rows
