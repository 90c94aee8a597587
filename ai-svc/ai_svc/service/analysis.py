"""GET /v1/analysis/{symbol}: technical, fundamental, sentiment, order flow and prediction, each from its
own source and each null with the reason when that source fails, while the rest answers."""

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from dm_shared.errors import ApiError
from dm_shared.symbols import parse_pair

from ai_svc.domain import orderflow, technical
from ai_svc.service.modelinfo import model_info
from ai_svc.service.predict import closed_candles, direction, forecast_path
from ai_svc.service.state import AiState

log = logging.getLogger("ai.analysis")
TIMEFRAME = "1h"
HORIZONS = {"short_term": 1, "medium_term": 6, "long_term": 24}
METHOD = "ensemble"
TRADES, BOOK_LEVELS = 500, 20
ON_CHAIN_REASON = {"code": "NOT_AVAILABLE", "message": "chain-svc serves no on-chain metrics for this asset yet"}


def missing(exc: BaseException) -> dict[str, str]:
    """A failed part's reason in the envelope's terms."""
    if isinstance(exc, ApiError):
        return {"code": exc.code, "message": exc.message}
    log.error("analysis part failed", exc_info=exc)
    return {"code": "INTERNAL_ERROR", "message": f"{type(exc).__name__}"}


async def settle(calls: dict[str, Awaitable[Any]]) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """Run the calls together: what answered, and why the others did not."""
    names = list(calls)
    results = await asyncio.gather(*calls.values(), return_exceptions=True)
    done, failed = {}, {}
    for name, result in zip(names, results, strict=True):
        if isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result
            failed[name] = missing(result)
        else:
            done[name] = result
    return done, failed


async def _technical_and_prediction(state: AiState, pair: str) -> tuple[dict[str, Any], dict[str, Any] | None,
                                                                        dict[str, str] | None]:
    closed, origin = await closed_candles(state, pair, TIMEFRAME)
    tech = {**await asyncio.to_thread(technical.read, closed), "timeframe": TIMEFRAME, "source": origin["source"]}
    try:
        path = await forecast_path(state, closed, METHOD, max(HORIZONS.values()))
    except ApiError as exc:
        return tech, None, missing(exc)
    horizons = {name: {"steps": steps, "median": float(path.median[steps - 1]),
                       "lower_bound": float(path.low[steps - 1]), "upper_bound": float(path.high[steps - 1]),
                       "direction": direction(path.anchor, path.median[steps - 1], path.low[steps - 1],
                                              path.high[steps - 1])}
                for name, steps in HORIZONS.items()}
    prediction = {**{name: h["direction"] for name, h in horizons.items()},
                  "confidence": state.forecaster.card.get("coverage", 0.8), "horizons": horizons,
                  "model": model_info(state.forecaster, METHOD, TIMEFRAME)}
    return tech, prediction, None


def _fundamental(base: str, done: dict[str, Any], failed: dict[str, dict[str, str]]) -> dict[str, Any] | None:
    if "market" in failed and "dominance" in failed:
        return None
    rank = dominance = None
    gaps: dict[str, dict[str, str]] = {"on_chain_metrics": ON_CHAIN_REASON}
    if "market" in done:
        item = next((i for i in done["market"]["items"] if i["symbol"].upper() == base), None)
        rank = item["rank"] if item else None
        if item is None:
            gaps["market_cap_rank"] = {"code": "NOT_LISTED", "message": f"{base} is not in market-svc's market list"}
    else:
        gaps["market_cap_rank"] = failed["market"]
    if "dominance" in done:
        dominance = done["dominance"]["dominance"].get(base)
        if dominance is None:
            gaps["dominance"] = {"code": "NOT_LISTED", "message": f"{base} is not among the largest assets"}
    else:
        gaps["dominance"] = failed["dominance"]
    return {"market_cap_rank": rank, "dominance": dominance, "on_chain_metrics": None, "missing": gaps,
            "sources": {"market_cap_rank": done.get("market", {}).get("source"),
                        "dominance": done.get("dominance", {}).get("source"), "on_chain_metrics": None}}


def _order_flow(done: dict[str, Any], failed: dict[str, dict[str, str]]) -> dict[str, Any] | None:
    if all(name in failed for name in ("trades", "book", "funding", "open_interest")):
        return None
    trades = done.get("trades", {}).get("trades", [])
    book = done.get("book")
    gaps = {name: failed[name] for name in ("trades", "book", "funding", "open_interest") if name in failed}
    return {"vwap": orderflow.vwap(trades), "cvd": orderflow.cvd(trades),
            "trade_imbalance": orderflow.trade_imbalance(trades),
            "ofi": orderflow.book_imbalance(book["bids"], book["asks"]) if book else None, "trades": len(trades),
            "funding_rate": done.get("funding", {}).get("funding_rate"),
            "open_interest": done.get("open_interest", {}).get("open_interest"),
            "sources": {name: done.get(name, {}).get("source") for name in ("trades", "book", "funding",
                                                                            "open_interest")},
            "missing": gaps}


async def analyse(state: AiState, symbol: str) -> dict[str, Any]:
    """The response body of an analysis."""
    pair = parse_pair(symbol)
    market = state.market
    done, failed = await settle({
        "candles": _technical_and_prediction(state, str(pair)),
        "market": market.fetch_market(), "dominance": market.fetch_dominance(),
        "sentiment": state.news.fetch_sentiment(pair.base),
        "trades": market.fetch_trades(str(pair), limit=TRADES),
        "book": market.fetch_orderbook(str(pair), limit=BOOK_LEVELS),
        "funding": market.fetch_funding(str(pair)), "open_interest": market.fetch_open_interest(str(pair)),
    })
    gaps: dict[str, dict[str, str]] = {}
    tech = prediction = None
    if "candles" in done:
        tech, prediction, why = done["candles"]
        if why:
            gaps["prediction"] = why
    else:
        gaps["technical"] = gaps["prediction"] = failed["candles"]
    sentiment = None
    if "sentiment" in done:
        s = done["sentiment"]
        sentiment = {"overall": s["sentiment"], "score": s["sentiment_score"], "social_volume": s["social_volume"],
                     "news_sentiment": s["news_sentiment"], "source": s["source"]}
    else:
        gaps["sentiment"] = failed["sentiment"]
    fundamental = _fundamental(pair.base, done, failed)
    if fundamental is None:
        gaps["fundamental"] = failed["market"]
    flow = _order_flow(done, failed)
    if flow is None:
        gaps["order_flow"] = failed["trades"]
    return {"symbol": str(pair), "analysis": {"technical": tech, "fundamental": fundamental, "sentiment": sentiment,
                                              "order_flow": flow, "prediction": prediction, "missing": gaps}}


