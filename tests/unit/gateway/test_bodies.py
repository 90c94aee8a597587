"""The gateway reads a forwarded body up to its cap and refuses more, declared or sent."""

import pytest

from dm_shared.errors import PayloadTooLargeError, ValidationFailedError

from gateway.proxy import read_body
from gateway.registry import ROUTER


def receiver(*chunks: bytes):
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}
    return receive


async def test_a_body_in_chunks_is_joined():
    assert await read_body({"headers": []}, receiver(b'{"symbol"', b': "BTC"}'), limit=100) == b'{"symbol": "BTC"}'


async def test_a_body_over_the_cap_is_refused_declared_or_sent():
    with pytest.raises(PayloadTooLargeError):
        await read_body({"headers": [(b"content-length", b"101")]}, receiver(b"x"), limit=100)
    with pytest.raises(PayloadTooLargeError):  # chunked, no length declared
        await read_body({"headers": []}, receiver(b"x" * 60, b"x" * 60), limit=100)
    with pytest.raises(ValidationFailedError):
        await read_body({"headers": [(b"content-length", b"ten")]}, receiver(b"x"), limit=100)
    with pytest.raises(ValidationFailedError):  # the client left mid-body
        await read_body({"headers": []}, receiver(), limit=100)


def test_only_routes_that_declare_a_method_take_it():
    assert ROUTER.match("/api/ai/predict").methods == ("POST",)
    assert ROUTER.match("/api/ai/signals").methods == ("GET",)
    assert ROUTER.match("/api/ai/analysis/BTC").target_for("/api/ai/analysis/BTC/USDT") == "/v1/analysis/BTC%2FUSDT"
