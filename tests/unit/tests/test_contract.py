"""The contract check the suite tests run on every answer: it passes what market-svc documents and fails a
body that carries an undocumented field, lacks a documented one, or answers an undocumented status."""

import httpx
import pytest

from market_svc.main import create_app

from contract import Contract, ContractError

PROVENANCE = {"fetched_at": 1, "fallback": False, "cached": False, "stale": False, "age_ms": 0, "failed": [],
              "notes": []}
CANDLE = {"t": 1, "o": 1.0, "h": 2.0, "l": 0.5, "c": 1.5, "v": None}
BODY = {"success": True, "timestamp": 1, "source": "binance", "provenance": PROVENANCE, "symbol": "BTC/USDT",
        "timeframe": "1h", "data": [CANDLE]}


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract(create_app().openapi())


def answer(path: str, body: dict, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body, request=httpx.Request("GET", f"http://svc{path}"))


def test_a_documented_body_passes(contract):
    contract.check(answer("/v1/ohlcv?symbol=BTC", BODY))
    contract.check(answer("/v1/price/BTC/USDT", {"success": False, "timestamp": 1, "error": {
        "code": "INVALID_SYMBOL", "message": "m", "details": {}}}, 404))


@pytest.mark.parametrize("body", [
    {**BODY, "extra": 1},
    {**BODY, "data": [{**CANDLE, "volume_quote": 3}]},
    {k: v for k, v in BODY.items() if k != "timeframe"},
    {**BODY, "data": [{**CANDLE, "o": "1.0"}]},
], ids=["undocumented field", "undocumented item field", "missing field", "wrong type"])
def test_a_drifted_body_fails(contract, body):
    with pytest.raises(ContractError):
        contract.check(answer("/v1/ohlcv", body))


def test_an_undocumented_status_fails_and_unknown_paths_are_left_alone(contract):
    with pytest.raises(ContractError, match="does not list"):
        contract.check(answer("/v1/ohlcv", BODY, 418))
    contract.check(answer("/metrics", {"anything": True}))
    assert contract.template("/v1/history/price/BTC/USDT") == "/v1/history/price/{symbol}"
