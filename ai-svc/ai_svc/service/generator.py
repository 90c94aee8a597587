"""Signals on a schedule, by the one replica holding the generator lease: each slot of
AI_SIGNAL_INTERVAL_SECONDS makes one signal per tracked pair and timeframe (its id names the slot, so a
second maker stores and publishes nothing new), stores it, publishes it once to JetStream, and judges
every expired signal from market-svc's candles."""

import asyncio
import logging
from typing import Any

from dm_shared.bus import Publisher
from dm_shared.errors import ApiError
from dm_shared.messages import Signal
from dm_shared.subjects import AI_SIGNALS, signal_subject
from dm_shared.symbols import parse_pair

from ai_svc.domain import calibration, indicators, signals
from ai_svc.domain.candles import TIMEFRAMES
from ai_svc.service import judging
from ai_svc.service.modelinfo import model_info
from ai_svc.service.predict import closed_candles, forecast_path
from ai_svc.service.schedule import every_slot
from ai_svc.service.state import AiState

log = logging.getLogger("ai.signals")


def signal_id(token: str, timeframe: str, slot: int) -> str:
    """The id of the signal of one pair, timeframe and schedule slot (unix ms of the slot's start)."""
    return f"sig_{token}_{timeframe}_{slot}"


def to_message(doc: dict[str, Any]) -> Signal:
    """A stored signal as its bus message."""
    return Signal(id=doc["_id"], symbol=doc["symbol"], signal=doc["type"], confidence=doc["confidence"],
                  score=doc["score"], timeframe=doc["timeframe"], entry_price=doc["entry_price"],
                  target_price=doc["target_price"], stop_loss=doc["stop_loss"], risk_reward=doc["risk_reward"],
                  model=f"{doc['model']['name']} {doc['model']['version']}", reasoning=tuple(doc["reasoning"]),
                  timestamp=doc["timestamp"], expires_at=doc["expires_at"])


class Generator:
    """The generator's work while this replica holds the lease."""

    def __init__(self, state: AiState, publisher: Publisher):
        self.state, self.publisher = state, publisher
        self.settings = state.settings
        self.made = self.judged = 0
        self.last_error: str | None = None

    async def make(self, symbol: str, timeframe: str, slot: int, seed: dict, live: dict) -> dict[str, Any] | None:
        """One signal document, or None when its candles cannot be had this slot."""
        state, method = self.state, self.settings.signal_method
        try:
            closed, origin = await closed_candles(state, symbol, timeframe)
            path = await forecast_path(state, closed, method, signals.HORIZON_CANDLES)
        except ApiError as exc:
            self.last_error = f"{symbol} {timeframe}: {exc.code} {exc.message}"
            log.warning("no signal for %s", self.last_error)
            return None
        values = await asyncio.to_thread(indicators.compute, closed)
        anchor = path.anchor
        forecast = signals.Forecast(median=float(path.median[-1] / anchor - 1), low=float(path.low[-1] / anchor - 1),
                                    high=float(path.high[-1] / anchor - 1), steps=signals.HORIZON_CANDLES)
        pair = parse_pair(symbol)
        sentiment, sentiment_reason = None, None
        try:
            sentiment = await state.news.fetch_sentiment(pair.base)
        except ApiError as exc:
            sentiment_reason = f"{exc.code}: {exc.message}"
        decision = signals.decide(values, anchor, forecast, sentiment)
        target, stop, ratio = signals.levels(decision.type, anchor, values["atr_14"])
        confidence, basis = calibration.confidence(decision.type, decision.score, seed, live)
        life = self.settings.signal_expiry_seconds
        expires = slot + int(life * 1000) if life else slot + signals.HORIZON_CANDLES * TIMEFRAMES[timeframe]
        return {
            "_id": signal_id(pair.token, timeframe, slot), "symbol": str(pair), "type": decision.type,
            "confidence": confidence, "score": decision.score, "timeframe": timeframe, "entry_price": anchor,
            "target_price": target, "stop_loss": stop, "risk_reward": ratio,
            "model": model_info(state.forecaster, method, timeframe), "reasoning": decision.reasoning,
            "indicators": {"rsi": values["rsi_14"], "macd": values["macd_cross"],
                           "volume_profile": _volume(values), "atr_14": values["atr_14"], "ema_21": values["ema_21"],
                           "ema_50": values["ema_50"], "stoch_rsi_k": values["stoch_rsi_k"],
                           "bb_percent_b": values["bb_percent_b"], "forecast_median_return": forecast.median,
                           "forecast_low_return": forecast.low, "forecast_high_return": forecast.high,
                           "votes": decision.votes, "candles_source": origin["source"],
                           "candle_as_of": int(closed.t[-1]) + TIMEFRAMES[timeframe]},
            "calibration": basis, "sentiment": sentiment, "sentiment_reason": sentiment_reason,
            "timestamp": slot, "expires_at": expires, "status": "open", "outcome": None, "published": False,
            "producer": self.publisher.producer, "atr": values["atr_14"],
        }

    async def generate(self, slot: int) -> None:
        """This slot's signal of every tracked pair and timeframe, stored and published."""
        store = self.state.store
        live = await store.band_counts()
        seed = (self.state.forecaster.card.get("signal_calibration") or {}).get("bands", {})
        for symbol in self.settings.signal_symbols:
            for timeframe in self.settings.signal_timeframes:
                doc = await self.make(symbol, timeframe, slot, seed, live)
                if doc is not None and await store.insert(doc):
                    self.made += 1
        await self.publish_pending()

    async def publish_pending(self) -> None:
        """Publish every stored signal not yet on the bus, once (JetStream drops a repeated Nats-Msg-Id)."""
        for doc in await self.state.store.unpublished():
            token = parse_pair(doc["symbol"]).token
            key = ("signal", token)
            async with self.state.publish_lock:
                published = await self.publisher.publish(signal_subject(token), to_message(doc), key=key,
                                                         stream=AI_SIGNALS, msg_id=doc["_id"])
            if published:
                await self.state.store.mark_published(doc["_id"])

    async def judge_due(self) -> None:
        """Record the outcome of every expired signal from the candles of its life."""
        self.judged += await judging.judge_due(self.state, self.state.store)

    async def run(self) -> None:
        """Generate on the schedule and judge on the outcome interval until cancelled."""
        for symbol in self.settings.signal_symbols:
            token = parse_pair(symbol).token
            await self.publisher.sequencer.resume(("signal", token), AI_SIGNALS, signal_subject(token))
        await every_slot(int(self.settings.signal_interval_seconds * 1000), self.settings.outcome_interval_seconds,
                         round=self.generate, judge=self._judge_and_publish, failed=self._failed, log=log,
                         what="signal")

    async def _judge_and_publish(self) -> None:
        await self.judge_due()
        await self.publish_pending()

    def _failed(self, message: str) -> None:
        self.last_error = message


def _volume(values: dict[str, Any]) -> str | None:
    ratio = values.get("volume_ratio")
    if ratio is None:
        return None
    return "spike" if ratio > 2 else "above_average" if ratio > 1.2 else "below_average" if ratio < 0.8 else "average"
