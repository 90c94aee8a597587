"""The candle timeframes the suite serves (spec 002), in milliseconds."""

TIMEFRAMES: dict[str, int] = {
    "1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000,
    "4h": 14_400_000, "1d": 86_400_000, "1w": 604_800_000,
}
