"""The recorded hourly history the model is trained and evaluated on, and its walk-forward splits.

The files are the suite's copy of the fixture (sandbox/data/history, provenance in sandbox/data/README.md):
Binance BTC/USDT and ETH/USDT hourly candles, 2018-01-01 to 2020-09-19. The last row of each is a
partial candle and is left out. Splits are by time, never random: the first 60 % trains, the next 20 %
calibrates the intervals (and seeds the signals' confidence), the last 20 % is the test.
"""

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ai_svc.domain.candles import Candles

HISTORY_DIR = Path(__file__).resolve().parents[3] / "sandbox" / "data" / "history"
SYMBOLS = {"BTC/USDT": "BTCUSDT_1h.csv", "ETH/USDT": "ETHUSDT_1h.csv"}
TRAIN, CALIBRATION = 0.6, 0.8


@dataclass(frozen=True)
class Recorded:
    """One symbol's hourly candles and where its splits begin."""

    symbol: str
    path: Path
    sha256: str
    candles: Candles

    @property
    def train_end(self) -> int:
        return int(len(self.candles) * TRAIN)

    @property
    def calibration_end(self) -> int:
        return int(len(self.candles) * CALIBRATION)


def read(symbol: str, directory: Path = HISTORY_DIR) -> Recorded:
    """One symbol's recorded history, without its final partial candle."""
    path = directory / SYMBOLS[symbol]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))[:-1]
    return Recorded(symbol, path, digest, Candles.of(rows))


def read_all(directory: Path = HISTORY_DIR) -> list[Recorded]:
    """Every recorded symbol."""
    return [read(symbol, directory) for symbol in SYMBOLS]


def span(candles: Candles, start: int, end: int) -> str:
    """`YYYY-MM-DD .. YYYY-MM-DD` of candles [start, end)."""
    day = lambda i: np.datetime_as_string(np.datetime64(int(candles.t[i]), "ms"), unit="D")  # noqa: E731
    return f"{day(start)} .. {day(end - 1)}"
