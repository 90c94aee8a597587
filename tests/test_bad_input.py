"""Bad input never gives a 500: every case is a 4xx in the spec's envelope."""

import pytest


def assert_envelope(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and isinstance(body["timestamp"], int)
    assert set(body["error"]) == {"code", "message", "details"}
    if code:
        assert body["error"]["code"] == code
    return body


def test_unknown_symbol_is_404_with_supported_symbols(api):
    body = assert_envelope(api.get("/api/ohlcv", params={"symbol": "XYZ/USDT", "timeframe": "1h"}), 404,
                           "INVALID_SYMBOL")
    assert {"BTC/USDT", "ETH/USDT"} <= set(body["error"]["details"]["supported_symbols"])


V, S = ("VALIDATION_ERROR", 422), ("INVALID_SYMBOL", 404)
OHLCV_CASES = {  # the parameters, and the envelope code and status they must get
    "limit zero": ({"symbol": "BTC/USDT", "timeframe": "1h", "limit": "0"}, V),
    "limit too big": ({"symbol": "BTC/USDT", "timeframe": "1h", "limit": "1001"}, V),
    "limit not a number": ({"symbol": "BTC/USDT", "timeframe": "1h", "limit": "ten"}, V),
    "unknown timeframe": ({"symbol": "BTC/USDT", "timeframe": "2h"}, V),
    "missing timeframe": ({"symbol": "BTC/USDT"}, V),
    "missing symbol": ({"timeframe": "1h"}, V),
    "since after until": ({"symbol": "BTC/USDT", "timeframe": "1h", "since": "1700000000000",
                           "until": "1600000000000"}, ("INVALID_RANGE", 400)),
    "negative since": ({"symbol": "BTC/USDT", "timeframe": "1h", "since": "-5"}, V),
    "since not a number": ({"symbol": "BTC/USDT", "timeframe": "1h", "since": "yesterday"}, V),
    "empty symbol": ({"symbol": "", "timeframe": "1h"}, V),
    "base only": ({"symbol": "BTC/", "timeframe": "1h"}, S),
    "quote only": ({"symbol": "/USDT", "timeframe": "1h"}, S),
    "path traversal": ({"symbol": "../../etc/passwd", "timeframe": "1h"}, S),
    "sql": ({"symbol": "BTC/USDT' OR '1'='1", "timeframe": "1h"}, S),
    "unicode": ({"symbol": "БТЦ/USDT", "timeframe": "1h"}, S),
    "emoji": ({"symbol": "🚀/USDT", "timeframe": "1h"}, S),
    "very long": ({"symbol": "A" * 5000 + "/USDT", "timeframe": "1h"}, V),
    "null byte": ({"symbol": "BTC\x00/USDT", "timeframe": "1h"}, S),
    "script": ({"symbol": "<script>alert(1)</script>", "timeframe": "1h"}, S),
}

MARKET_CASES = {
    "limit zero": {"limit": "0"},
    "limit too big": {"limit": "501"},
    "limit float": {"limit": "2.5"},
    "unknown sort": {"sort": "hype"},
    "unknown category": {"category": "gaming"},
    "unknown currency": {"currency": "zzz"},
    "currency junk": {"currency": "'; DROP TABLE coins;--"},
}


@pytest.mark.parametrize("params, expected", OHLCV_CASES.values(), ids=OHLCV_CASES.keys())
def test_bad_ohlcv_input_is_a_4xx_envelope(api, params, expected):
    code, status = expected
    assert_envelope(api.get("/api/ohlcv", params=params), status, code)


@pytest.mark.parametrize("params", MARKET_CASES.values(), ids=MARKET_CASES.keys())
def test_bad_market_input_is_a_4xx_envelope(api, params):
    assert_envelope(api.get("/api/market", params=params), 422, "VALIDATION_ERROR")


def test_reversed_window_is_a_400(api):
    params = {"symbol": "BTC/USDT", "timeframe": "1h", "since": 1700000000000, "until": 1600000000000}
    assert_envelope(api.get("/api/ohlcv", params=params), 400, "INVALID_RANGE")


def test_unknown_endpoint_and_wrong_method(api):
    assert_envelope(api.get("/api/nothing-here"), 404, "NOT_FOUND")
    assert_envelope(api.post("/api/market"), 405, "METHOD_NOT_ALLOWED")
