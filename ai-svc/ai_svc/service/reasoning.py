"""The LLM's part of an analysis: the prompt in use filled with the measured inputs, one decision through
the chat client, the answer parsed into the analysis schema, and the decision logged. When there is no LLM,
its turn has not come, every key is paused, or the answer does not parse, there is no verdict and the
reason says why: the indicator engine's call stands."""

import hashlib
import logging
import uuid
from typing import Any

import orjson

from dm_shared.clock import now_ms
from dm_shared.errors import ApiError

from ai_svc.llm import answer, prompt
from ai_svc.llm.answer import Verdict
from ai_svc.llm.client import public_url
from ai_svc.service.prompt_store import NAME
from ai_svc.service.state import AiState

log = logging.getLogger("ai.llm")
NOT_CONFIGURED = "no LLM is configured (AI_LLM_URL unset or AI_LLM_ENABLED=false)"
MAX_ANSWER = 8000


def _none(reason: str) -> dict[str, Any]:
    return {"configured": False, "used": False, "model": None, "prompt_version": None, "decision_id": None,
            "latency_ms": None, "reason": reason}


async def consult(state: AiState, *, symbol: str, analysis_id: str, variables: dict[str, Any],
                  wait: float) -> tuple[Verdict | None, dict[str, Any]]:
    """The LLM's verdict on one analysis (None when it gives none) and the `llm` part of the answer."""
    llm = state.llm
    if llm is None:
        return None, _none(NOT_CONFIGURED)
    template = await state.prompts.current()
    messages = prompt.render(template, variables)
    info = {"configured": True, "used": False, "model": llm.model, "prompt_version": template["version"],
            "decision_id": None, "latency_ms": None, "reason": None}
    left = await llm.pacer.turn(wait=wait)
    if left > 0:
        interval = state.settings.llm_min_interval_seconds
        return None, {**info, "reason": f"the LLM was asked less than {interval:g} s ago by this deployment "
                                        f"(AI_LLM_MIN_INTERVAL_SECONDS); its next turn is in {left:.1f} s"}
    reply = await llm.chat(messages)
    verdict, problem = None, reply.error
    if reply.content is not None:
        try:
            verdict = answer.parse(reply.content)
        except answer.UnparsableAnswerError as exc:
            problem = f"the answer could not be used: {exc}"
    decision_id = None
    if reply.sent:
        decision_id = f"llm_{uuid.uuid4().hex[:16]}"
        record = {"_id": decision_id, "timestamp": now_ms(), "symbol": symbol, "analysis_id": analysis_id,
                  "model": llm.model, "answered_by": reply.model, "url": public_url(llm.base_url),
                  "prompt": {"name": NAME, "version": template["version"], "digest": template["digest"]},
                  "input_digest": hashlib.sha256(orjson.dumps(messages)).hexdigest(),
                  "attempts": reply.attempt_fields(), "answer": (reply.content or "")[:MAX_ANSWER] or None,
                  "parsed": verdict is not None, "verdict": verdict.model_dump() if verdict else None,
                  "used": verdict is not None, "error": problem, "latency_ms": reply.latency_ms,
                  "tokens": reply.tokens}
        try:
            await state.decisions.insert(record)
        except ApiError as exc:  # the analysis answers all the same; the log says what it missed
            log.warning("LLM decision %s not logged: %s", decision_id, exc.message)
            decision_id = None
    return verdict, {**info, "used": verdict is not None, "decision_id": decision_id,
                     "latency_ms": reply.latency_ms, "reason": None if verdict else problem}
