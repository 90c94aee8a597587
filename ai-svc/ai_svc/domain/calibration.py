"""A signal's confidence: the hit rate of past signals like it (same type, same score band), from the
walk-forward backtest that seeds it and the outcomes recorded since, with a Laplace prior so a band with
few outcomes stays near one half."""

from typing import Any

BAND = 2.5  # score bands 0-2.5, 2.5-5, 5-7.5, 7.5-10


def bucket(kind: str, score: float) -> str:
    """The band a signal falls in, e.g. `buy:1` for a buy scored 2.5 to 5."""
    return f"{kind}:{min(3, int(score // BAND))}"


def confidence(kind: str, score: float, seed: dict[str, dict[str, int]],
               live: dict[str, dict[str, int]]) -> tuple[float, dict[str, Any]]:
    """(hits + 1) / (outcomes + 2) over the seed and the live outcomes of the signal's band, and the counts."""
    key = bucket(kind, score)
    seeded, recorded = seed.get(key, {}), live.get(key, {})
    n = seeded.get("n", 0) + recorded.get("n", 0)
    hits = seeded.get("hits", 0) + recorded.get("hits", 0)
    return round((hits + 1) / (n + 2), 4), {"band": key, "backtest_signals": seeded.get("n", 0),
                                            "backtest_hits": seeded.get("hits", 0),
                                            "recorded_signals": recorded.get("n", 0),
                                            "recorded_hits": recorded.get("hits", 0)}
