"""CoinPaprika: market-wide totals from its keyless /global, the second source of /stats and /stats/dominance."""

from typing import Any

from dm_shared.adapter import reading
from dm_shared.errors import UpstreamBadResponseError
from dm_shared.guard import Guard
from dm_shared.names import Provider
from dm_shared.upstream import Upstream, UpstreamClient

from market_svc.domain.types import GlobalMarket

# The free plan answers 402 once its monthly calls are spent (429 when called too fast, as everywhere).
QUOTA_SPENT = 402


def to_global(data: dict[str, Any]) -> GlobalMarket:
    """Totals from /global. CoinPaprika breaks out bitcoin's share only, and counts no markets or exchanges."""
    return GlobalMarket(
        total_market_cap=data["market_cap_usd"], total_volume_24h=data.get("volume_24h_usd"),
        market_cap_percentage={"btc": data["bitcoin_dominance_percentage"]},
        market_cap_change_24h=data.get("market_cap_change_24h"), volume_change_24h=data.get("volume_24h_change_24h"),
        active_cryptocurrencies=data.get("cryptocurrencies_number"), markets=None,
        updated_at=data.get("last_updated"))


class CoinPaprikaAdapter:
    """CoinPaprika's free API (https://api.coinpaprika.com/v1); no key."""

    name = Provider.COINPAPRIKA
    needs_key = False
    keyed = False

    def __init__(self, client: UpstreamClient, *, guard: Guard, base_url: str, timeout: float):
        self.upstream = Upstream(guard, base_url, timeout=timeout, rate_limit_statuses=frozenset({QUOTA_SPENT}))
        self.guard, self.breaker = guard, guard.breaker
        self._client = client

    async def close(self) -> None:
        """Nothing of its own to close: it calls through the process's shared client."""

    async def fetch_global(self) -> GlobalMarket:
        """/global: total market cap and volume in USD, bitcoin's share, the number of coins."""
        data = await self._client.get_json(self.upstream, "/global")
        if not isinstance(data, dict):
            raise UpstreamBadResponseError("coinpaprika /global is not an object", details={"upstream": self.name})
        with reading(self.name, "/global"):
            return to_global(data)
