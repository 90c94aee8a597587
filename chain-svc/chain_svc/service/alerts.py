"""GET whale alerts: Whale Alert when keyed, else (or when it fails) the detector's stored alerts."""

import time

from dm_shared.errors import UpstreamUnavailableError
from dm_shared.fallback import Source, first_success
from dm_shared.names import Provider
from dm_shared.provenance import Provenance

from chain_svc.domain.types import WhaleAlert
from chain_svc.service.store import AlertStore
from chain_svc.sources import Sources

# Whale Alert's free history window was one hour; ask for that much.
WINDOW_SECONDS = 3600


async def get_alerts(sources: Sources, store: AlertStore | None, *, min_usd: float, chain: str | None,
                     limit: int) -> tuple[list[WhaleAlert], Provenance]:
    """The newest alerts worth `min_usd` or more, on `chain` or every chain, and where they came from."""

    async def from_whale_alert() -> list[WhaleAlert]:
        alerts = await sources.whale_alert.fetch_alerts(min_usd=min_usd, start_s=int(time.time()) - WINDOW_SECONDS,
                                                        limit=100)
        return [a for a in alerts if chain is None or a.chain == chain][:limit]

    async def from_detector() -> list[WhaleAlert]:
        if store is None:
            raise UpstreamUnavailableError("the alert store (MongoDB) is not reachable")
        try:
            return await store.recent(min_usd=min_usd, chain=chain, limit=limit)
        except Exception as exc:  # the store down: this source fails, labelled, like an upstream
            raise UpstreamUnavailableError(f"the alert store (MongoDB) failed: {type(exc).__name__}") from exc

    if not sources.whale_alert.keyed:
        alerts, provenance = await first_success([Source(Provider.CHAIN_DETECTOR, from_detector)])
        provenance.notes.append("Whale Alert is not keyed (CHAIN_WHALE_ALERT_API_KEY): alerts come from chain-svc's "
                                "own block scan, valued at market-svc's USD price")
        return alerts, provenance
    return await first_success([Source(Provider.WHALE_ALERT, from_whale_alert),
                                Source(Provider.CHAIN_DETECTOR, from_detector)])
