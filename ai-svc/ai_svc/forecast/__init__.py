"""The price forecast: features, methods, calibration (numpy) and the network and its loader (torch)."""

from pathlib import Path

# Where the committed model's card and weights live (the package's models/ folder).
DEFAULT_DIR = Path(__file__).resolve().parents[1] / "models"
