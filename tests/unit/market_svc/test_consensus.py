"""The consensus price weighs only fresh quotes that agree, and says why it left the others out."""

from market_svc.domain.consensus import agree
from market_svc.domain.types import Quote

NOW = 1_800_000_000_000
AGES = {"coingecko": 300_000}


def quote(price: float, age_ms: int | None = 1_000) -> Quote:
    return Quote(price=price, timestamp=None if age_ms is None else NOW - age_ms)


def weigh(quotes, outliers_before=frozenset()):
    return agree(quotes, now=NOW, max_age_ms=AGES, default_max_age_ms=60_000, threshold=0.01,
                 outliers_before=set(outliers_before))


def test_fresh_agreeing_quotes_give_their_median_and_spread():
    result = weigh([("binance", quote(100.0)), ("kucoin", quote(100.4)), ("okx", quote(100.1)),
                    ("coingecko", quote(100.2, age_ms=200_000))])
    assert result.price == 100.15 and round(result.spread, 6) == 0.4
    assert [e.to_dict()["used"] for e in result.entries] == [True] * 4


def test_stale_and_outlying_quotes_are_left_out_with_their_reason():
    result = weigh([("binance", quote(100.0)), ("kucoin", quote(150.0)), ("okx", quote(100.3, age_ms=600_000)),
                    ("coingecko", quote(100.2, age_ms=200_000))])
    assert result.price == 100.1 and round(result.spread, 6) == 0.2
    assert {e.source: e.excluded for e in result.entries} == {"binance": None, "kucoin": "outlier",
                                                             "okx": "stale", "coingecko": None}
    assert result.outliers == {"kucoin"}
    assert weigh([("okx", quote(100.0, age_ms=None))]).entries[0].excluded == "stale"  # unknown age


def test_an_outlier_comes_back_only_within_half_the_threshold():
    near = [("binance", quote(100.0)), ("kucoin", quote(100.8)), ("okx", quote(100.1))]
    assert weigh(near).outliers == set()  # 0.8 % off is within 1 %
    assert weigh(near, outliers_before={"kucoin"}).outliers == {"kucoin"}  # but not within 0.5 %
    closer = [("binance", quote(100.0)), ("kucoin", quote(100.4)), ("okx", quote(100.1))]
    assert weigh(closer, outliers_before={"kucoin"}).outliers == set()


def test_two_sources_far_apart_give_no_price():
    result = weigh([("binance", quote(100.0)), ("kucoin", quote(110.0))])
    assert result.price is None and result.outliers == {"binance", "kucoin"}
    assert weigh([("okx", quote(100.0, age_ms=100_000))]).price is None
