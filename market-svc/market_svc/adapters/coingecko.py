"""CoinGecko: the market list, simple prices, global figures, charts and coarse OHLC."""

from typing import Any

from dm_shared.adapter import reading
from dm_shared.errors import InvalidSymbolError, UpstreamBadResponseError, UpstreamError
from dm_shared.guard import Guard
from dm_shared.names import Provider
from dm_shared.upstream import Upstream, UpstreamClient

from market_svc.domain.types import Candle, Chart, GlobalMarket, MarketItem, Quote

MAX_PER_PAGE = 250


def _date(value: str | None) -> str | None:
    return value[:10] if value else None


def to_market_item(row: dict[str, Any]) -> MarketItem:
    """A market item from a /coins/markets row."""
    return MarketItem(
        symbol=str(row.get("symbol", "")).upper(), name=row.get("name"), id=row.get("id"),
        rank=row.get("market_cap_rank"), price=row.get("current_price"),
        change_24h=row.get("price_change_percentage_24h"),
        change_7d=row.get("price_change_percentage_7d_in_currency"),
        volume_24h=row.get("total_volume"), market_cap=row.get("market_cap"),
        circulating_supply=row.get("circulating_supply"), total_supply=row.get("total_supply"),
        ath=row.get("ath"), ath_date=_date(row.get("ath_date")), atl=row.get("atl"),
        atl_date=_date(row.get("atl_date")), last_updated=row.get("last_updated"))


def to_quote(row: dict[str, Any], currency: str) -> Quote:
    """A quote from a /simple/price entry (asked with every include_* flag)."""
    updated = row.get("last_updated_at")
    return Quote(price=row[currency], timestamp=int(updated * 1000) if updated else None,
                 change_24h=row.get(f"{currency}_24h_change"), volume_24h=row.get(f"{currency}_24h_vol"))


def to_global(data: dict[str, Any], currency: str = "usd") -> GlobalMarket:
    """Totals from the `data` object of /global."""
    updated = data.get("updated_at")
    return GlobalMarket(
        total_market_cap=data["total_market_cap"].get(currency),
        total_volume_24h=(data.get("total_volume") or {}).get(currency),
        market_cap_percentage=data.get("market_cap_percentage") or {},
        market_cap_change_24h=data.get(f"market_cap_change_percentage_24h_{currency}"),
        active_cryptocurrencies=data.get("active_cryptocurrencies"), markets=data.get("markets"),
        updated_at=int(updated) if updated is not None else None)


class CoinGeckoAdapter:
    """CoinGecko's public (or, with a key, pro) API."""

    name = Provider.COINGECKO
    needs_key = False

    def __init__(self, client: UpstreamClient, *, guard: Guard, base_url: str, api_key: str | None,
                 timeout: float):
        headers = {"x-cg-pro-api-key": api_key} if api_key else {}
        self.upstream = Upstream(guard, base_url, headers=headers, timeout=timeout)
        self.guard, self.breaker = guard, guard.breaker
        self.keyed = bool(api_key)
        self._client = client

    async def close(self) -> None:
        """Nothing of its own to close: it calls through the process's shared client."""

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return await self._client.get_json(self.upstream, path, params)

    async def _coin(self, path: str, params: dict[str, Any], coin_id: str) -> Any:
        """A per-coin call; CoinGecko's 404 means it does not know the coin, which is INVALID_SYMBOL."""
        try:
            return await self._get(path, params)
        except UpstreamError as exc:
            if exc.details.get("status") == 404:
                raise InvalidSymbolError(f"coingecko does not know {coin_id}",
                                         details={"upstream": self.name, "coin": coin_id}) from exc
            raise

    async def fetch_markets(self, *, currency: str, order: str, count: int,
                            category: str | None) -> list[MarketItem]:
        """/coins/markets: `count` coins at most, across as many pages as that takes."""
        rows: list[dict[str, Any]] = []
        page = 1
        while len(rows) < count:
            per_page = min(MAX_PER_PAGE, count)
            params = {"vs_currency": currency, "order": order, "per_page": per_page, "page": page,
                      "sparkline": "false", "price_change_percentage": "24h,7d"}
            if category:
                params["category"] = category
            batch = await self._get("/coins/markets", params)
            if not isinstance(batch, list) or not all(isinstance(r, dict) for r in batch):
                raise UpstreamBadResponseError("coingecko /coins/markets is not a list of coins",
                                               details={"upstream": self.name})
            rows.extend(batch)
            if len(batch) < per_page:
                break
            page += 1
        with reading(self.name, "/coins/markets"):
            return [to_market_item(r) for r in rows[:count]]

    async def fetch_ohlc(self, *, coin_id: str, currency: str, days: int, candle_ms: int) -> list[Candle]:
        """/coins/{id}/ohlc as candles stamped with their open time (CoinGecko stamps the close time and
        picks the candle size from `days`: the caller says which size that is)."""
        rows = await self._coin(f"/coins/{coin_id}/ohlc", {"vs_currency": currency, "days": days}, coin_id)
        if not isinstance(rows, list):
            raise UpstreamBadResponseError("coingecko /ohlc is not a list of candles", details={"upstream": self.name})
        with reading(self.name, "/ohlc"):
            return [Candle(t=int(r[0]) - candle_ms, o=r[1], h=r[2], l=r[3], c=r[4], v=None) for r in rows]

    async def fetch_quote(self, *, coin_id: str, currency: str) -> Quote:
        """/simple/price: price, 24h change and volume, and update time of one coin in `currency`."""
        payload = await self._get("/simple/price", {
            "ids": coin_id, "vs_currencies": currency, "include_24hr_change": "true", "include_24hr_vol": "true",
            "include_market_cap": "true", "include_last_updated_at": "true"})
        row = payload.get(coin_id) if isinstance(payload, dict) else None
        if not isinstance(row, dict) or not isinstance(row.get(currency), (int, float)):
            raise UpstreamBadResponseError(f"coingecko has no {currency} price for {coin_id}",
                                           details={"upstream": self.name})
        with reading(self.name, "/simple/price"):
            return to_quote(row, currency)

    async def fetch_global(self) -> GlobalMarket:
        """/global: totals, dominance, counts."""
        payload = await self._get("/global")
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("total_market_cap"), dict):
            raise UpstreamBadResponseError("coingecko /global has no totals", details={"upstream": self.name})
        with reading(self.name, "/global"):
            return to_global(data)

    async def fetch_chart(self, *, coin_id: str, currency: str, start_s: int, end_s: int) -> Chart:
        """/coins/{id}/market_chart/range: observations between two unix times (seconds)."""
        payload = await self._coin(f"/coins/{coin_id}/market_chart/range",
                                   {"vs_currency": currency, "from": start_s, "to": end_s}, coin_id)
        if not isinstance(payload, dict) or not isinstance(payload.get("prices"), list):
            raise UpstreamBadResponseError("coingecko market chart has no prices", details={"upstream": self.name})
        with reading(self.name, "market chart"):
            return Chart(prices=payload["prices"], market_caps=payload.get("market_caps") or [],
                         total_volumes=payload.get("total_volumes") or [])
