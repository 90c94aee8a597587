"""Spec 004's periodic analysis: every AI_ANALYSIS_INTERVAL_SECONDS, one analysis of each tracked pair (the
analysis id names the slot, so a second maker of a slot stores nothing new), stored, then published once as
AISignalReceived on JetStream (ai.signal.<pair>, so the gateway's `signals` channel carries it); and the
outcome of every expired analysis, judged like a signal's."""

import logging
from typing import Any

from dm_shared.bus import Publisher
from dm_shared.errors import ApiError
from dm_shared.messages import AiSignalReceived
from dm_shared.subjects import AI_SIGNALS, signal_subject
from dm_shared.symbols import parse_pair

from ai_svc.service import judging
from ai_svc.service.analyze import RUNNER, analyze, iso
from ai_svc.service.schedule import every_slot
from ai_svc.service.state import AiState

log = logging.getLogger("ai.runner")


def to_message(doc: dict[str, Any]) -> AiSignalReceived:
    """A stored analysis as spec 004's broadcast (its `data`, with the analysis id and who decided)."""
    spec = doc["analysis"]
    return AiSignalReceived(data={
        "id": doc["_id"], "symbol": doc["symbol"], "signal": spec["signal"].lower(), "confidence": spec["confidence"],
        "timestamp": doc["timestamp"], "model_type": doc["model"], "decided_by": doc["details"]["decided_by"],
        "timeframe": doc["timeframe"], "reasoning": spec["reasoning"], "strategy_scores": spec["strategy_scores"],
    }, timestamp=iso(doc["timestamp"]))


class Runner:
    """The runner's work while this replica holds the lease."""

    def __init__(self, state: AiState, publisher: Publisher):
        self.state, self.publisher = state, publisher
        self.settings = state.settings
        self.made = self.failed = self.judged = 0
        self.last_error: str | None = None

    async def round(self, slot: int) -> None:
        """This slot's analysis of every tracked pair, stored and published."""
        # A pair waits for the LLM's turn at most the minimum interval (the pairs take turns).
        wait = self.settings.llm_min_interval_seconds + 1.0
        for symbol in self.settings.tracked_symbols:
            try:
                await analyze(self.state, symbol=symbol, requested_by=RUNNER, slot=slot, wait_llm=wait)
                self.made += 1
            except ApiError as exc:
                self.failed += 1
                self.last_error = f"{symbol}: {exc.code} {exc.message}"
                log.warning("no analysis of %s this round", self.last_error)
        await self.publish_pending()

    async def publish_pending(self) -> None:
        """Publish every stored runner analysis not yet on the bus, once (JetStream drops a repeated Nats-Msg-Id)."""
        for doc in await self.state.analyses.unpublished():
            token = parse_pair(doc["symbol"]).token
            async with self.state.publish_lock:
                published = await self.publisher.publish(signal_subject(token), to_message(doc),
                                                         key=("signal", token), stream=AI_SIGNALS,
                                                         msg_id=doc["_id"])
            if published:
                await self.state.analyses.mark_published(doc["_id"])

    async def run(self) -> None:
        """Analyse on the schedule and judge on the outcome interval until cancelled."""
        for symbol in self.settings.tracked_symbols:
            try:
                token = parse_pair(symbol).token
            except ApiError:
                continue
            await self.publisher.sequencer.resume(("signal", token), AI_SIGNALS, signal_subject(token))
        await every_slot(int(self.settings.analysis_interval_seconds * 1000), self.settings.outcome_interval_seconds,
                         round=self.round, judge=self._judge_and_publish, failed=self._failed, log=log,
                         what="analysis")

    async def _judge_and_publish(self) -> None:
        self.judged += await judging.judge_due(self.state, self.state.analyses)
        await self.publish_pending()

    def _failed(self, message: str) -> None:
        self.last_error = message
