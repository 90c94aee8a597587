"""market-svc as chain-svc's price source (over HTTP, through the guard like any upstream): the USD price
of a coin, kept for a short while so a block full of transfers asks once."""

import time
from decimal import Decimal

from dm_shared.adapter import reading
from dm_shared.guard import Guard
from dm_shared.upstream import Upstream, UpstreamClient


class MarketPrices:
    """USD prices from market-svc's /v1/price/{symbol} (its consensus of the exchanges and CoinGecko)."""

    name = "market-svc"
    needs_key = False
    keyed = False

    def __init__(self, client: UpstreamClient, *, guard: Guard, base_url: str, timeout: float, ttl: float):
        self.breaker = guard.breaker
        self.upstream = Upstream(guard, base_url, timeout=timeout, retries=1)
        self._client, self._ttl = client, ttl
        self._prices: dict[str, tuple[float, Decimal, str]] = {}

    async def close(self) -> None:
        """Nothing of its own to close: it calls through the process's shared client."""

    async def price(self, symbol: str) -> tuple[Decimal, str]:
        """The USD price of `symbol` (BTC, ETH ...) and the source market-svc named for it."""
        held = self._prices.get(symbol)
        if held is not None and time.monotonic() - held[0] < self._ttl:
            return held[1], held[2]
        body = await self._client.get_json(self.upstream, f"/v1/price/{symbol}")
        with reading(self.name, "price"):
            price, source = Decimal(str(body["price"])), str(body["source"])
        self._prices[symbol] = (time.monotonic(), price, source)
        return price, source
