"""Routes: GET and PUT /v1/prompt (the analysis prompt, versioned) and GET /v1/decisions (the LLM decision
log); the gateway asks for the admin scope."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from dm_shared.envelope import JsonResponse, success
from dm_shared.schemas import ERRORS, ErrorResponse
from dm_shared.symbols import parse_pair

from ai_svc.api.deps import StateDep, candle_body
from ai_svc.llm.prompt import PLACEHOLDERS
from ai_svc.trading_schemas import DecisionsResponse, PromptRequest, PromptResponse

router = APIRouter(prefix="/v1")
PROMPT_FIELDS = ("name", "version", "system", "user", "digest", "note", "author", "created_at")


async def _prompt_body(state, doc: dict) -> dict:
    versions = await state.prompts.versions()
    return {**{name: doc.get(name) for name in PROMPT_FIELDS}, "placeholders": list(PLACEHOLDERS),
            "versions": [{"version": v["version"], "digest": v["digest"], "note": v.get("note"),
                          "author": v.get("author", ""), "created_at": v["created_at"]} for v in versions]}


@router.get("/prompt", responses={200: {"model": PromptResponse}, **ERRORS},
            summary="The analysis prompt in use (its version and placeholders) and its earlier versions")
async def get_prompt(state: StateDep) -> JsonResponse:
    return JsonResponse(success(**await _prompt_body(state, await state.prompts.current())))


@router.put("/prompt", responses={200: {"model": PromptResponse}, 413: {"model": ErrorResponse}, **ERRORS},
            dependencies=[Depends(candle_body)],
            summary="Save a new version of the analysis prompt; the next LLM decision uses it")
async def put_prompt(state: StateDep, request: PromptRequest) -> JsonResponse:
    await state.prompts.current()  # version 1 is the default, so an edit is version 2 at least
    doc = await state.prompts.save(request.system, request.user, note=request.note, author="api")
    return JsonResponse(success(**await _prompt_body(state, doc)))


@router.get("/decisions", responses={200: {"model": DecisionsResponse}, **ERRORS},
            summary="The LLM decision log, newest first: prompt version, input digest, answer, latency, tokens")
async def decisions(
    state: StateDep,
    symbol: Annotated[str | None, Query(min_length=1, max_length=32, description="Only this pair")] = None,
    id: Annotated[str | None, Query(min_length=1, max_length=64, description="Only this decision")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> JsonResponse:
    pair = str(parse_pair(symbol)) if symbol else None
    docs = await state.decisions.find(symbol=pair, decision_id=id, limit=limit)
    rows = [{"id": d["_id"], **{k: v for k, v in d.items() if k != "_id"}} for d in docs]
    return JsonResponse(success(count=len(rows), decisions=rows))
