"""Candles: one shape whatever the source, and the window a request asks for."""

from typing import Any

from dm_shared.errors import InvalidRangeError


def to_candle(row: list[Any]) -> dict[str, Any]:
    """A spec candle from a ccxt OHLCV row `[t, o, h, l, c, v]` (volume may be absent)."""
    volume = row[5] if len(row) > 5 else None
    return {"t": int(row[0]), "o": row[1], "h": row[2], "l": row[3], "c": row[4], "v": volume}


def check_window(since: int | None, until: int | None) -> None:
    """Reject a reversed window before any upstream is asked."""
    if since is not None and until is not None and since > until:
        raise InvalidRangeError("`since` is after `until`", details={"since": since, "until": until})


def select(candles: list[dict[str, Any]], *, since: int | None, until: int | None, limit: int) -> list[dict[str, Any]]:
    """Candles inside [since, until], oldest first; the first `limit` after `since`, else the latest `limit`."""
    rows = sorted((c for c in candles if (since is None or c["t"] >= since) and (until is None or c["t"] <= until)),
                  key=lambda c: c["t"])
    deduped = list({c["t"]: c for c in rows}.values())
    return deduped[:limit] if since is not None else deduped[-limit:]
