"""What an analysis reads: the candles a request sent (`timeframe_data`), checked, or else the newest closed
candles of market-svc; which timeframe leads; whether the data is live; and the digest that makes a
repeated analysis of the same input recognisable."""

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from dm_shared.clock import now_ms
from dm_shared.errors import ApiError
from dm_shared.provenance import Provenance
from dm_shared.symbols import Pair, parse_pair

from ai_svc.domain.candles import STEPS, Candles
from ai_svc.errors import BadCandlesError, InsufficientCandlesError, InsufficientHistoryError
from ai_svc.service.predict import FETCH
from ai_svc.service.state import AiState

# The timeframe that leads when a request sends several, in order of preference.
LEAD = ("1h", "4h", "1d", "15m", "30m", "5m", "1w", "1m")
HIGHER = {"1h": "4h", "4h": "1d"}
# MACD 12/26 with its 9-candle signal is the longest strategy input: 34 candles.
MIN_CANDLES = 35
HIGHER_FETCH = 100
CLIENT = "client"


@dataclass
class Input:
    """The candles of one analysis and where they came from."""

    pair: Pair
    timeframe: str
    candles: dict[str, Candles]
    source: str
    provenance: dict[str, Any]
    live: bool
    digest: str
    missing: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def lead(self) -> Candles:
        return self.candles[self.timeframe]


def digest(payload: Any) -> str:
    """A stable digest of a JSON-able value (keys sorted; the standard library's encoder, which takes any
    integer a client's preferences may hold)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def to_candles(timeframe: str, rows: list[dict[str, float]]) -> Candles:
    """A request's candles of one timeframe, checked and oldest first; BadCandlesError names the first that
    cannot be real."""
    for i, row in enumerate(rows):
        if row["high"] < max(row["open"], row["close"], row["low"]) or row["low"] > min(row["open"], row["close"]):
            raise BadCandlesError(f"timeframe_data.{timeframe}[{i}]: high and low must bound open and close",
                                  details={"timeframe": timeframe, "index": i})
    unique = {int(r["timestamp"]): r for r in rows}  # one candle per open time, the last sent
    return Candles.of({"t": t, "o": r["open"], "h": r["high"], "l": r["low"], "c": r["close"], "v": r["volume"]}
                      for t, r in unique.items())


def from_request(symbol: str, timeframe_data: dict[str, list[dict[str, float]]],
                 context: dict[str, Any] | None, *, minimum: int = MIN_CANDLES) -> Input:
    """The input of an analysis of the candles a request sent (at least `minimum` closed ones leading)."""
    pair = parse_pair(symbol)
    lead = next((tf for tf in LEAD if timeframe_data.get(tf)), None)
    if lead is None:
        raise InsufficientCandlesError("timeframe_data has no candles", details={"needed": minimum})
    now = now_ms()
    candles = {tf: to_candles(tf, rows).closed(now, STEPS[tf]) for tf, rows in timeframe_data.items() if rows}
    have = len(candles.get(lead, ()))
    if have < minimum:
        raise InsufficientCandlesError(f"timeframe_data.{lead} has {have} closed candles; this needs {minimum}",
                                       details={"timeframe": lead, "candles": have, "needed": minimum})
    newest = int(candles[lead].t[-1])
    live = newest + 2 * STEPS[lead] >= now
    notes = ["candles sent with the request"] + ([] if live else [
        f"the newest candle closed more than one {lead} candle ago: the analysis is of that time"])
    provenance = Provenance(source=CLIENT, fetched_at=now, notes=notes).to_fields()["provenance"]
    return Input(pair=pair, timeframe=lead, candles={tf: c for tf, c in candles.items() if len(c)}, source=CLIENT,
                 provenance=provenance, live=live,
                 digest=digest({"symbol": str(pair), "timeframe_data": timeframe_data, "context": context}))


def market_digest(state: AiState, pair: Pair, context: dict[str, Any] | None) -> str:
    """The digest of an analysis of market-svc's candles: the pair, the timeframe and the request's context."""
    return digest({"symbol": str(pair), "source": "market-svc", "timeframe": state.settings.analysis_timeframe,
                   "context": context})


async def from_market(state: AiState, symbol: str, context: dict[str, Any] | None, *, limit: int = FETCH,
                      minimum: int = MIN_CANDLES, higher_too: bool = True) -> Input:
    """The input of an analysis of market-svc's newest closed candles (the lead timeframe and the next one up)."""
    pair = parse_pair(symbol)
    lead = state.settings.analysis_timeframe
    higher = HIGHER.get(lead) if higher_too else None
    calls = [state.market.fetch_candles(str(pair), lead, limit=limit)]
    if higher:
        calls.append(state.market.fetch_candles(str(pair), higher, limit=HIGHER_FETCH))
    results = await asyncio.gather(*calls, return_exceptions=True)
    if isinstance(results[0], BaseException):
        raise results[0]
    now = now_ms()
    candles, origin = results[0]
    closed = {lead: candles.closed(now, STEPS[lead])}
    missing: dict[str, dict[str, str]] = {}
    if higher:
        other = results[1]
        if isinstance(other, ApiError):
            missing[f"timeframe_{higher}"] = {"code": other.code, "message": other.message}
        elif isinstance(other, BaseException):
            raise other
        else:
            closed[higher] = other[0].closed(now, STEPS[higher])
    if len(closed[lead]) < minimum:
        raise InsufficientHistoryError(f"market-svc has {len(closed[lead])} closed {lead} candles of {pair}; this "
                                       f"needs {minimum}", details={"symbol": str(pair)})
    return Input(pair=pair, timeframe=lead, candles={tf: c for tf, c in closed.items() if len(c)},
                 source=origin["source"], provenance=origin["provenance"], live=True, missing=missing,
                 digest=market_digest(state, pair, context))
