"""One symbol parser for REST and websockets: every usual spelling, and malformed ones refused."""

import pytest

from dm_shared.assets import ASSETS
from dm_shared.errors import InvalidSymbolError
from dm_shared.symbols import Pair, parse_pair

KNOWN = set(ASSETS)


@pytest.mark.parametrize("raw", ["BTC", "btc", "BTC/USDT", "btc/usdt", " BTC/USDT ", "BTC-USDT", "BTC_USDT",
                                 "BTCUSDT", "btcusdt"])
def test_every_usual_spelling_is_the_same_pair(raw):
    assert parse_pair(raw, known_bases=KNOWN) == Pair("BTC", "USDT")
    assert parse_pair(raw) == Pair("BTC", "USDT")  # the registry is the default


def test_concatenated_symbols_split_at_a_known_asset():
    assert parse_pair("ETHBTC", known_bases=KNOWN) == Pair("ETH", "BTC")
    assert parse_pair("SOLUSDC", known_bases=KNOWN) == Pair("SOL", "USDC")
    assert parse_pair("ETH", known_bases=KNOWN, default_quote="EUR") == Pair("ETH", "EUR")


@pytest.mark.parametrize("raw", ["", "BTC/", "/USDT", "BTC/USDT/X", "B TC/USDT", "БТЦ", "BTC/USDT'--", "../x",
                                 "A" * 40, "BTC\x00"])
def test_malformed_symbols_are_invalid(raw):
    with pytest.raises(InvalidSymbolError):
        parse_pair(raw, known_bases=KNOWN)


def test_unknown_assets_come_with_close_matches():
    with pytest.raises(InvalidSymbolError) as caught:
        parse_pair("BTCC", known_bases=KNOWN)
    assert "BTC" in caught.value.details["close_matches"]


def test_a_pair_has_one_subject_token():
    assert Pair("BTC", "USDT").token == "BTC-USDT" and Pair("BTC", "USDT").perpetual == "BTC/USDT:USDT"
