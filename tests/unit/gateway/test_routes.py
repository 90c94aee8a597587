"""The gateway's route table: cache keys and forwarded paths."""

import pytest

from gateway.registry import match


def test_cache_key_ignores_undeclared_parameters_and_order():
    route = match("/api/ohlcv")
    assert route.canonical_query(b"timeframe=1h&junk=1&symbol=BTC/USDT&limit=5&limit=7") == \
        "limit=7&symbol=BTC%2FUSDT&timeframe=1h"


@pytest.mark.parametrize("path, target", [
    ("/api/price/BTC", "/v1/price/BTC"),
    ("/api/price/BTC/USDT", "/v1/price/BTC%2FUSDT"),
    ("/api/history/price/../../health", "/v1/history/price/..%2F..%2Fhealth"),
    ("/api/stats/dominance", "/v1/stats/dominance"),
])
def test_symbol_routes_forward_the_rest_encoded(path, target):
    assert match(path).target_for(path) == target


def test_unrouted_paths_do_not_match():
    assert match("/api/price/") is None and match("/api/nothing") is None and match("/apix/market") is None
