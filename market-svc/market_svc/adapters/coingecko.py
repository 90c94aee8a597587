"""CoinGecko: the market list and coarse OHLC, over the shared upstream client."""

from typing import Any

from dm_shared.breaker import CircuitBreaker
from dm_shared.errors import InvalidSymbolError, UpstreamBadResponseError, UpstreamError
from dm_shared.upstream import Upstream, UpstreamClient

MAX_PER_PAGE = 250


async def _coin(call, coin_id: str):
    """A per-coin call; CoinGecko's 404 means it does not know the coin, which is INVALID_SYMBOL."""
    try:
        return await call
    except UpstreamError as exc:
        if exc.details.get("status") == 404:
            raise InvalidSymbolError(f"coingecko does not know {coin_id}",
                                     details={"upstream": "coingecko", "coin": coin_id}) from exc
        raise


class CoinGeckoAdapter:
    """Calls CoinGecko's public (or, with a key, pro) API."""

    name = "coingecko"

    def __init__(self, client: UpstreamClient, *, base_url: str, api_key: str | None, timeout: float,
                 breaker: CircuitBreaker):
        headers = {"x-cg-pro-api-key": api_key} if api_key else {}
        self.upstream = Upstream(self.name, base_url, headers=headers, timeout=timeout, breaker=breaker)
        self._client = client

    async def fetch_markets(self, *, currency: str, order: str, count: int,
                            category: str | None) -> list[dict[str, Any]]:
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
        rows = await _coin(self._client.get_json(self.upstream, f"/coins/{coin_id}/ohlc",
                                                 {"vs_currency": currency, "days": days}), coin_id)
        if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) >= 5 for r in rows):
            raise UpstreamBadResponseError("coingecko /ohlc is not a list of candles", details={"upstream": self.name})
        return rows

    async def fetch_simple_price(self, *, coin_id: str, currency: str) -> dict[str, Any]:
        """Price, 24h change, 24h volume, market cap and update time of one coin in `currency`."""
        payload = await self._client.get_json(self.upstream, "/simple/price", {
            "ids": coin_id, "vs_currencies": currency, "include_24hr_change": "true", "include_24hr_vol": "true",
            "include_market_cap": "true", "include_last_updated_at": "true"})
        row = payload.get(coin_id) if isinstance(payload, dict) else None
        if not isinstance(row, dict) or not isinstance(row.get(currency), (int, float)):
            raise UpstreamBadResponseError(f"coingecko has no {currency} price for {coin_id}",
                                           details={"upstream": self.name})
        return row

    async def fetch_global(self) -> dict[str, Any]:
        """The `data` object of /global: totals, dominance, counts."""
        payload = await self._client.get_json(self.upstream, "/global")
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("total_market_cap"), dict):
            raise UpstreamBadResponseError("coingecko /global has no totals", details={"upstream": self.name})
        return data

    async def fetch_market_chart_range(self, *, coin_id: str, currency: str, start_s: int,
                                       end_s: int) -> dict[str, list]:
        """`prices`, `market_caps`, `total_volumes` as [t_ms, value] between two unix times (seconds)."""
        payload = await _coin(self._client.get_json(self.upstream, f"/coins/{coin_id}/market_chart/range",
                                                    {"vs_currency": currency, "from": start_s, "to": end_s}), coin_id)
        if not isinstance(payload, dict) or not isinstance(payload.get("prices"), list):
            raise UpstreamBadResponseError("coingecko market chart has no prices", details={"upstream": self.name})
        return payload
