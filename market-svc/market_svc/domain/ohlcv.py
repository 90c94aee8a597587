"""Candles: the window a request asks for."""

from dm_shared.errors import InvalidRangeError

from market_svc.domain.types import Candle


def check_window(since: int | None, until: int | None) -> None:
    """Reject a reversed window before any upstream is asked."""
    if since is not None and until is not None and since > until:
        raise InvalidRangeError("`since` is after `until`", details={"since": since, "until": until})


def select(candles: list[Candle], *, since: int | None, until: int | None, limit: int) -> list[Candle]:
    """Candles inside [since, until], oldest first; the first `limit` after `since`, else the latest `limit`."""
    rows = sorted((c for c in candles if (since is None or c.t >= since) and (until is None or c.t <= until)),
                  key=lambda c: c.t)
    deduped = list({c.t: c for c in rows}.values())
    return deduped[:limit] if since is not None else deduped[-limit:]
