"""The LLM's answer: parsed into the analysis schema when it is one, refused with the reason when not; the
prompt filled from its template."""

import pytest

from ai_svc.llm import prompt
from ai_svc.llm.answer import UnparsableAnswerError, parse


def test_an_answer_in_the_schema_is_parsed_in_any_case_and_fence():
    verdict = parse('```json\n{"signal": "long", "confidence": 0.7, "reasoning": "RSI 28", "extra": 1}\n```')
    assert (verdict.signal, verdict.confidence, verdict.reasoning) == ("Long", 0.7, "RSI 28")


@pytest.mark.parametrize("content, why", [
    ("positive", "not JSON"), ("", "empty"), (None, "empty"), ("[1, 2]", "not an object"),
    ('{"signal": "Buy", "confidence": 0.5, "reasoning": "x"}', "signal"),
    ('{"signal": "Long", "confidence": 1.5, "reasoning": "x"}', "confidence"),
    ('{"signal": "Long", "confidence": 0.5}', "reasoning")])
def test_an_answer_outside_the_schema_is_refused_with_the_reason(content, why):
    with pytest.raises(UnparsableAnswerError, match=why):
        parse(content)


def test_the_prompt_is_filled_and_unknown_placeholders_stay():
    messages = prompt.render({"system": "Trade $symbol.", "user": "$price $indicators $nothing"},
                             {"symbol": "BTC/USDT", "price": 10.5, "indicators": {"rsi_14": 30.1, "macd": None}})
    assert messages == [{"role": "system", "content": "Trade BTC/USDT."},
                        {"role": "user", "content": '10.5 {"rsi_14": 30.1, "macd": null} $nothing'}]
    assert set(prompt.PLACEHOLDERS) >= {"symbol", "engine", "context"}
