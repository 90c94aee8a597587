"""The forecast model on disk: its card (JSON: configuration, conformal widening, measured evaluation)
and its weights (a torch state dict, read with weights_only). Loading is the one path the service, the
backtest and the tests use; nothing is downloaded."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ai_svc.forecast import DEFAULT_DIR
from ai_svc.forecast.network import QuantileNet

__all__ = ["DEFAULT_DIR", "Artifact", "load", "paths", "save", "write_card"]


@dataclass
class Artifact:
    """A loaded model: its card and a function from feature rows to normalized quantiles."""

    card: dict[str, Any]
    network: QuantileNet

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(n, H_MAX, 3) normalized quantiles; CPU, no gradients."""
        with torch.inference_mode():
            return self.network(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()


def paths(directory: Path, timeframe: str) -> tuple[Path, Path]:
    """The card and the weights of one timeframe's model."""
    return directory / f"forecast-{timeframe}.json", directory / f"forecast-{timeframe}.pt"


def load(directory: Path, timeframe: str) -> Artifact:
    """Read a model; FileNotFoundError when it is not there, ValueError when it does not fit its card."""
    card_path, weights_path = paths(directory, timeframe)
    card = json.loads(card_path.read_text())
    network = QuantileNet(**card["architecture"])
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    try:
        network.load_state_dict(state)
    except RuntimeError as exc:  # shapes that do not match the card
        raise ValueError(f"{weights_path.name} does not match its card: {exc}") from exc
    network.eval()
    return Artifact(card=card, network=network)


def save(directory: Path, timeframe: str, card: dict[str, Any], network: QuantileNet) -> None:
    """Write a model's card and weights."""
    directory.mkdir(parents=True, exist_ok=True)
    card_path, weights_path = paths(directory, timeframe)
    torch.save(network.state_dict(), weights_path)
    card_path.write_text(json.dumps(card, indent=2) + "\n")


def write_card(directory: Path, timeframe: str, card: dict[str, Any]) -> None:
    """Rewrite a model's card (the backtest adds its measured figures)."""
    paths(directory, timeframe)[0].write_text(json.dumps(card, indent=2) + "\n")
