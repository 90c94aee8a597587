"""market-svc as ai-svc's upstream: candles, trades, order books, derivatives, rank and dominance over its
internal /v1 routes, every call under the shared guard with a deadline. Bodies are the suite's own types."""

from typing import Any
from urllib.parse import quote

from dm_shared.adapter import reading
from dm_shared.breaker import CircuitBreaker
from dm_shared.errors import InvalidSymbolError, UpstreamError
from dm_shared.guard import Guard
from dm_shared.upstream import Upstream, UpstreamClient

from ai_svc.domain.candles import Candles

NAME = "market-svc"


class MarketAdapter:
    """The market data ai-svc reads, from market-svc."""

    name = NAME
    needs_key = False
    keyed = True

    def __init__(self, client: UpstreamClient, *, base_url: str, timeout: float, breaker: CircuitBreaker):
        self.breaker = breaker
        self.client = client
        self.upstream = Upstream(Guard(NAME, breaker=breaker), base_url, timeout=timeout)

    async def close(self) -> None:
        """The client is the service's; nothing of its own to close."""

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            return await self.client.get_json(self.upstream, path, params)
        except UpstreamError as exc:
            if exc.details.get("status") == 404:  # market-svc's INVALID_SYMBOL
                raise InvalidSymbolError(f"market-svc does not serve {params.get('symbol') if params else path}",
                                         details={"upstream": NAME}) from exc
            raise

    async def fetch_candles(self, symbol: str, timeframe: str, *, limit: int, since: int | None = None,
                            until: int | None = None) -> tuple[Candles, dict[str, Any]]:
        """Candles (oldest first) and where market-svc got them (`source`, `provenance`)."""
        params = {"symbol": symbol, "timeframe": timeframe, "limit": limit}
        params.update({k: v for k, v in (("since", since), ("until", until)) if v is not None})
        body = await self._get("/v1/ohlcv", params)
        with reading(NAME, "candles"):
            return Candles.of(body["data"]), {"source": body["source"], "provenance": body["provenance"]}

    async def fetch_trades(self, symbol: str, *, limit: int) -> dict[str, Any]:
        """Recent public trades: {symbol, trades: [...], source, provenance}."""
        return await self._get(f"/v1/trades/{quote(symbol, safe='')}", {"limit": limit})

    async def fetch_orderbook(self, symbol: str, *, limit: int) -> dict[str, Any]:
        """The order book: {symbol, bids, asks, source, provenance}."""
        return await self._get(f"/v1/orderbook/{quote(symbol, safe='')}", {"limit": limit})

    async def fetch_funding(self, symbol: str) -> dict[str, Any]:
        """Funding of the pair's perpetual."""
        return await self._get(f"/v1/derivatives/funding/{quote(symbol, safe='')}")

    async def fetch_open_interest(self, symbol: str) -> dict[str, Any]:
        """Open interest of the pair's perpetual."""
        return await self._get(f"/v1/derivatives/open-interest/{quote(symbol, safe='')}")

    async def fetch_market(self, *, limit: int = 250) -> dict[str, Any]:
        """The market list by market cap (for an asset's rank)."""
        return await self._get("/v1/market", {"limit": limit})

    async def fetch_dominance(self) -> dict[str, Any]:
        """Market-cap share of the largest assets, percent."""
        return await self._get("/v1/stats/dominance")
