"""Global stats and dominance have a second source: CoinGecko's /global, then CoinPaprika's, then the estimate
from CoinGecko's coin list. Through traefik, with every failure mode of the sandbox."""

import time

import httpx
import pytest

from contract import Contract
from helpers import served

GLOBAL = "/api/v3/global"
# Each sandbox fault on CoinGecko's /global, and what the answer says of it.
FAULTS = {
    "status": ({"mode": "status", "status": 500, "path": GLOBAL}, {"UPSTREAM_ERROR"}),
    "rate_limit": ({"mode": "rate_limit", "retry_after": 30, "path": GLOBAL}, {"UPSTREAM_RATE_LIMITED"}),
    "malformed": ({"mode": "malformed", "path": GLOBAL}, {"UPSTREAM_BAD_RESPONSE"}),
    # hung past its hedge delay: CoinPaprika starts beside it and answers first
    "delay": ({"mode": "delay", "delay": 5, "path": GLOBAL}, {"LATE", "UPSTREAM_TIMEOUT"}),
    "refuse": ({"mode": "refuse"}, {"UPSTREAM_UNAVAILABLE"}),
}


def fresh(api: httpx.Client, path: str) -> dict:
    time.sleep(2.1)  # past the suite's 2 s stats TTL in the gateway
    response = api.get(path)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("mode", FAULTS)
def test_coingecko_failing_the_figures_come_from_coinpaprika_as_it_served_them(api, sandbox, suite, mode):
    fault, codes = FAULTS[mode]
    sandbox.fault("coingecko", **fault)
    paprika = served(suite, "coinpaprika", "/v1/global")
    body = fresh(api, "/api/stats")
    assert body["source"] == "coinpaprika" and body["provenance"]["fallback"] is True
    failed = body["provenance"]["failed"]
    assert failed[0]["source"] == "coingecko" and failed[0]["code"] in codes, failed
    figures = body["global"]
    assert (figures["total_market_cap"], figures["total_volume_24h"], figures["bitcoin_dominance"]) == (
        paprika["market_cap_usd"], paprika["volume_24h_usd"], paprika["bitcoin_dominance_percentage"])
    assert (figures["market_cap_change_24h"], figures["volume_change_24h"]) == (
        paprika["market_cap_change_24h"], paprika["volume_24h_change_24h"])
    assert (figures["active_cryptocurrencies"], figures["updated_at"]) == (
        paprika["cryptocurrencies_number"], paprika["last_updated"])
    # what CoinPaprika does not publish is null, and said, never made up
    assert [figures[k] for k in ("ethereum_dominance", "defi_dominance", "active_markets", "active_exchanges")] == [
        None] * 4
    notes = body["provenance"]["notes"]
    assert any("coinpaprika breaks out bitcoin's share only" in note for note in notes)
    if mode in ("refuse", "rate_limit"):  # CoinGecko away, or paused whole: no coin list for the movers either
        assert body["top_gainers"] is None and body["top_losers"] is None
        assert f"top movers unavailable: {failed[0]['code']}" in notes
    else:  # the movers still come from CoinGecko's coin list, and the answer says whose they are
        assert body["top_gainers"] and any("top movers from coingecko" in note for note in notes)

    dominance = fresh(api, "/api/stats/dominance")
    assert dominance["source"] == "coinpaprika" and dominance["provenance"]["failed"][0]["source"] == "coingecko"
    btc = paprika["bitcoin_dominance_percentage"]
    assert dominance["dominance"] == {"BTC": btc, "others": round(100 - btc, 4)}  # no other coin is invented
    assert any("`others` is every other coin" in note for note in dominance["provenance"]["notes"])


def test_every_global_source_failing_is_a_503_naming_each_or_the_labelled_stale_value(api, sandbox, suite):
    assert fresh(api, "/api/stats")["provenance"]["stale"] is False  # something in the gateway's cache
    sandbox.fault("coingecko", mode="refuse")
    sandbox.fault("coinpaprika", mode="rate_limit", retry_after=30)
    direct = httpx.get(f"{suite.url('market')}/v1/stats", timeout=30)  # market-svc itself, no cache in front
    Contract.of(suite.url("market")).check(direct)
    assert direct.status_code == 503 and direct.json()["error"]["code"] == "UPSTREAM_UNAVAILABLE"
    attempts = direct.json()["error"]["details"]["attempts"]
    assert [(a["source"], a["code"]) for a in attempts] == [
        ("coingecko", "UPSTREAM_UNAVAILABLE"), ("coinpaprika", "UPSTREAM_RATE_LIMITED"),
        ("coingecko-markets", "UPSTREAM_UNAVAILABLE")]
    stale = fresh(api, "/api/stats")  # the gateway serves its last value, labelled
    assert stale["provenance"]["stale"] is True and stale["provenance"]["cached"] is True
