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



def test_ignored_parameters_are_named_as_a_valid_header_value():
    route = match("/api/market")
    assert route.ignored(b"limit=4&timeframe=1D&order=desc&order=asc") == b"order,timeframe"
    assert route.ignored(b"limit=4&symbols=BTC") is None
    # control characters, non-ASCII and commas in a name come out percent-encoded, as in a URL
    assert route.ignored(b"%0C=1&caf%C3%A9=2&a,b=3&%00%7F=4") == b"%00%7F,%0C,a%2Cb,caf%C3%A9"
    many = route.ignored("&".join(f"name{i:04d}=1" for i in range(100)).encode())
    assert len(many) <= 512 and all(len(name) == 8 for name in many.split(b","))  # whole names only
    long = route.ignored(b"%C3%A9" * 200 + b"=1")
    assert len(long) <= 512 and long.endswith(b"%C3%A9")  # one long name, cut between escapes
