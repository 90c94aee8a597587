"""The forecast network (torch is imported here and in the artifact loader only).

A small MLP from the features to, for each step 1..H_MAX, three quantiles (10 %, 50 %, 90 %) of the
normalized return. The outer quantiles are the median minus / plus a softplus, so they never cross it.
"""

import torch
from torch import nn

from ai_svc.forecast.features import H_MAX, N_FEATURES, QUANTILES


class QuantileNet(nn.Module):
    """Features -> (batch, H_MAX, 3) quantiles of the normalized return."""

    def __init__(self, n_features: int = N_FEATURES, hidden: int = 64, horizons: int = H_MAX, dropout: float = 0.1):
        super().__init__()
        self.horizons = horizons
        self.body = nn.Sequential(nn.Linear(n_features, hidden), nn.GELU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, hidden), nn.GELU(), nn.Dropout(dropout))
        self.head = nn.Linear(hidden, horizons * 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.body(x)).view(-1, self.horizons, 3)
        mid = out[..., 1]
        low = mid - nn.functional.softplus(out[..., 0])
        high = mid + nn.functional.softplus(out[..., 2])
        return torch.stack([low, mid, high], dim=-1)


def pinball(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean pinball (quantile) loss of (batch, H, 3) quantiles against (batch, H) targets."""
    q = torch.tensor(QUANTILES, dtype=pred.dtype)
    error = target.unsqueeze(-1) - pred
    return torch.maximum(q * error, (q - 1) * error).mean()
