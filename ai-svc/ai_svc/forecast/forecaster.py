"""Forecasts from candles: a method's calibrated quantiles of the return at each step, as prices.

No torch here: the trained network arrives as the loaded Artifact's `predict`. Used by the service (in a
worker thread) and by the backtest (in batches)."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ai_svc.forecast import features, methods

if TYPE_CHECKING:  # torch comes with the loaded model, not with this module
    from ai_svc.forecast.artifact import Artifact


class MethodUnavailableError(Exception):
    """The method needs the trained model, which is not loaded."""


@dataclass
class Path:
    """One forecast: per step the 10 %, 50 % and 90 % quantiles of the price, from the anchor close."""

    anchor: float
    low: np.ndarray
    median: np.ndarray
    high: np.ndarray


class Forecaster:
    """The loaded model (when there is one) and its card's calibration, for every method."""

    def __init__(self, model: "Artifact | None", card: dict[str, Any] | None):
        self.model = model
        self.card = card or {}

    def methods(self) -> tuple[str, ...]:
        """Methods this process can serve."""
        return methods.METHODS if self.model is not None else ("baseline",)

    def widening(self, method: str) -> np.ndarray:
        """The conformal widening of `method` per step (zeros when the card has none)."""
        widen = self.card.get("conformal_widening", {}).get(method)
        return np.asarray(widen, dtype=np.float32) if widen else np.zeros(features.H_MAX, dtype=np.float32)

    def log_quantiles(self, close: np.ndarray, volume: np.ndarray, ends: np.ndarray, method: str) -> np.ndarray:
        """(n, H_MAX, 3) calibrated quantiles of the log return from each end, per step."""
        if method not in self.methods():
            raise MethodUnavailableError(method)
        x, sigma = features.features(close, volume, ends)
        net = self.model.predict if self.model is not None else None
        normalized = methods.calibrated(methods.quantiles(method, x, net), self.widening(method))
        scale = sigma[:, None] * np.sqrt(np.arange(1, features.H_MAX + 1))[None, :]
        return normalized * scale[..., None]

    def path(self, close: np.ndarray, volume: np.ndarray, method: str, horizon: int) -> Path:
        """The forecast from the newest close, `horizon` steps ahead (CPU-bound: call it off the event loop)."""
        q = self.log_quantiles(close, volume, np.array([len(close) - 1]), method)[0, :horizon]
        anchor = float(close[-1])
        prices = anchor * np.exp(q)
        return Path(anchor=anchor, low=prices[:, 0], median=prices[:, 1], high=prices[:, 2])
