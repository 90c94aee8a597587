"""Every ccxt host of a venue can be pointed at a mirror, proxy or the sandbox."""

from market_svc.adapters.exchange import rewrite_hosts


def test_rewrite_hosts_reaches_every_nested_url():
    urls = {"public": "https://api.binance.com/api/v3", "fapi": {"x": "https://fapi.binance.com/fapi/v1?a=1"},
            "rest": "https://{hostname}", "n": 3}
    assert rewrite_hosts(urls, "http://127.0.0.1:9/") == {
        "public": "http://127.0.0.1:9/api/v3", "fapi": {"x": "http://127.0.0.1:9/fapi/v1?a=1"},
        "rest": "http://127.0.0.1:9", "n": 3}
