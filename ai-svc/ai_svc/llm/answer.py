"""An LLM's answer parsed into the analysis schema, or refused: the content must be one JSON object (a
Markdown code fence around it is tolerated) with `signal` Long/Short/Neutral (any case), `confidence` 0..1
and a non-empty `reasoning`. Anything else falls back to the indicator engine."""

import re
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)
MAX_REASONING = 4000


class Verdict(BaseModel):
    """What the LLM decided."""

    model_config = ConfigDict(extra="ignore")

    signal: Literal["Long", "Short", "Neutral"]
    confidence: float = Field(ge=0, le=1, allow_inf_nan=False)
    reasoning: str = Field(min_length=1, max_length=MAX_REASONING)

    @field_validator("signal", mode="before")
    @classmethod
    def _case(cls, value):
        return value.strip().capitalize() if isinstance(value, str) else value


class UnparsableAnswerError(ValueError):
    """The answer is not the analysis schema; the message says why."""


# The schema of a structured-output request (AI_LLM_RESPONSE_FORMAT=json_schema), strict as OpenAI asks.
JSON_SCHEMA = {
    "name": "analysis",
    "strict": True,
    "schema": {"type": "object", "additionalProperties": False, "required": ["signal", "confidence", "reasoning"],
               "properties": {"signal": {"type": "string", "enum": ["Long", "Short", "Neutral"]},
                              "confidence": {"type": "number"}, "reasoning": {"type": "string"}}},
}


def parse(content: str | None) -> Verdict:
    """The verdict in `content`; UnparsableAnswerError when there is none."""
    if not content or not content.strip():
        raise UnparsableAnswerError("the answer is empty")
    fenced = _FENCE.match(content)
    text = fenced.group(1) if fenced else content.strip()
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise UnparsableAnswerError(f"the answer is not JSON ({str(exc)[:80]})") from exc
    if not isinstance(data, dict):
        raise UnparsableAnswerError("the answer is JSON but not an object")
    try:
        return Verdict.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'answer'}: {e['msg']}" for e in exc.errors()[:3])
        raise UnparsableAnswerError(f"the answer does not fit the analysis schema ({problems})") from exc
