"""Train the hourly forecast model on the recorded history and calibrate its intervals.

    .venv/bin/python -m scripts.train_forecast            # writes ai-svc/ai_svc/models/forecast-1h.{pt,json}

Walk-forward, never a random split (ai_svc.forecast.history): the network is fitted on the first 60 % of
each symbol's candles (its last tenth held out for early stopping), the conformal widening of every
method is measured on the next 20 %, and the last 20 % is left untouched for `python -m bench.backtest`,
which writes the measured evaluation into the card. Deterministic on CPU (fixed seeds, two threads).
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from ai_svc.forecast import artifact, conformal, features, history, methods
from ai_svc.forecast.network import QuantileNet, pinball

COVERAGE = 0.8
SEED = 7
ARCHITECTURE = {"n_features": features.N_FEATURES, "hidden": 64, "horizons": features.H_MAX, "dropout": 0.1}
COMMAND = "python -m scripts.train_forecast && python -m bench.backtest --write"


def samples(recorded: history.Recorded, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """Features and targets at every candle in [start, end) whose H_MAX-step outcome lies before `end`."""
    candles = recorded.candles
    ends = np.arange(max(start, features.VOL_BARS), end - features.H_MAX)
    x, sigma = features.features(candles.c, candles.v, ends)
    return x, features.targets(candles.c, ends, sigma)


def fit(train: tuple[np.ndarray, np.ndarray], held_out: tuple[np.ndarray, np.ndarray], *, epochs: int,
        patience: int = 4) -> tuple[QuantileNet, list[float]]:
    """AdamW on the pinball loss, keeping the weights of the best held-out epoch."""
    xt, yt = (torch.from_numpy(a) for a in train)
    xv, yv = (torch.from_numpy(a) for a in held_out)
    network = QuantileNet(**ARCHITECTURE)
    optimiser = torch.optim.AdamW(network.parameters(), lr=1e-3, weight_decay=1e-3)
    best, best_state, history_loss, waited = float("inf"), None, [], 0
    for _ in range(epochs):
        network.train()
        for batch in torch.randperm(len(xt)).split(512):
            optimiser.zero_grad()
            loss = pinball(network(xt[batch]), yt[batch])
            loss.backward()
            optimiser.step()
        network.eval()
        with torch.inference_mode():
            held_out = float(pinball(network(xv), yv))
        history_loss.append(round(held_out, 5))
        if held_out < best - 1e-5:
            best, waited = held_out, 0
            best_state = {k: v.clone() for k, v in network.state_dict().items()}
        else:
            waited += 1
            if waited >= patience:
                break
    network.load_state_dict(best_state)
    network.eval()
    return network, history_loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=artifact.DEFAULT_DIR)
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(2)
    started = time.perf_counter()
    recorded = history.read_all()
    train = [samples(r, 0, r.train_end) for r in recorded]
    calibration = [samples(r, r.train_end, r.calibration_end) for r in recorded]
    # Early stopping watches the last tenth of each symbol's training span.
    cut = [int(len(x) * 0.9) for x, _ in train]
    fitted = tuple(np.concatenate([part[i][:k] for part, k in zip(train, cut, strict=True)]) for i in (0, 1))
    held_out = tuple(np.concatenate([part[i][k:] for part, k in zip(train, cut, strict=True)]) for i in (0, 1))
    network, losses = fit(fitted, held_out, epochs=args.epochs)
    x = fitted[0]
    model = artifact.Artifact(card={}, network=network)
    xc = np.concatenate([c[0] for c in calibration])
    yc = np.concatenate([c[1] for c in calibration])
    widen = {}
    for method in methods.METHODS:
        raw = methods.quantiles(method, xc, model.predict)
        widen[method] = [round(float(w), 6) for w in conformal.correction(raw[..., 0], raw[..., 2], yc, COVERAGE)]
    first = recorded[0]
    card = {
        "name": "dm-quantile-mlp",
        "version": "1.0.0",
        "timeframe": "1h",
        "trained_on": (f"Binance BTC/USDT and ETH/USDT hourly candles: trained "
                       f"{history.span(first.candles, 0, first.train_end)}, "
                       f"intervals calibrated {history.span(first.candles, first.train_end, first.calibration_end)}, "
                       f"tested {history.span(first.candles, first.calibration_end, len(first.candles))}"),
        "data": [{"symbol": r.symbol, "file": str(r.path.relative_to(history.HISTORY_DIR.parents[2])),
                  "sha256": r.sha256, "candles": len(r.candles)} for r in recorded],
        "training_command": COMMAND,
        "architecture": ARCHITECTURE,
        "features": {"window": features.WINDOW, "vol_bars": features.VOL_BARS, "short_bars": features.SHORT_BARS,
                     "h_max": features.H_MAX, "quantiles": list(features.QUANTILES)},
        "coverage": COVERAGE,
        "conformal_widening": widen,
        "training": {"samples": len(x), "calibration_samples": len(xc), "epochs": len(losses),
                     "held_out_pinball": losses, "seconds": round(time.perf_counter() - started, 1),
                     "torch": torch.__version__},
        "evaluation": None,
        "skill": None,
        "signal_calibration": None,
    }
    artifact.save(args.out, "1h", card, network)
    print(f"trained on {len(x)} samples in {card['training']['seconds']} s, {len(losses)} epochs; "
          f"held-out pinball {min(losses)}; written to {args.out}")


if __name__ == "__main__":
    main()
