"""The forecast's real loading path on a tiny model built here, conformal calibration, the signal rule and
how a signal's outcome is judged."""

import json

import numpy as np
import pytest
import torch

from ai_svc.domain import calibration, outcomes, signals
from ai_svc.domain.candles import Candles
from ai_svc.forecast import artifact, conformal, features
from ai_svc.forecast.forecaster import Forecaster, MethodUnavailableError
from ai_svc.forecast.network import QuantileNet
from ai_svc.main import load_forecaster
from ai_svc.settings import AiSettings


def walk(n: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)  # a synthetic series for a test of the code path, not data
    return 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), rng.uniform(1, 2, n)


def tiny_model(directory, widen: float = 0.5) -> QuantileNet:
    torch.manual_seed(0)
    architecture = {"n_features": features.N_FEATURES, "hidden": 4, "horizons": features.H_MAX, "dropout": 0.0}
    network = QuantileNet(**architecture)
    card = {"name": "tiny", "version": "0.0.1", "architecture": architecture, "coverage": 0.8,
            "conformal_widening": {m: [widen] * features.H_MAX for m in ("baseline", "trained", "ensemble")},
            "trained_on": "nothing: built in a test", "evaluation": None, "skill": None}
    artifact.save(directory, "1h", card, network)
    return network


def test_the_service_loads_a_model_from_its_directory_and_forecasts(tmp_path):
    network = tiny_model(tmp_path)
    forecaster, status = load_forecaster(AiSettings(model_dir=tmp_path))
    assert status["status"] == "healthy" and status["name"] == "tiny" and forecaster.methods() == (
        "baseline", "trained", "ensemble")
    close, volume = walk(400)
    x, sigma = features.features(close, volume, np.array([399]))
    with torch.inference_mode():
        raw = network(torch.from_numpy(x)).numpy()[0]
    path = forecaster.path(close, volume, "trained", 5)
    scale = sigma[0] * np.sqrt(np.arange(1, 6))
    assert path.anchor == close[-1]
    np.testing.assert_allclose(path.median, close[-1] * np.exp(raw[:5, 1] * scale), rtol=1e-5)
    np.testing.assert_allclose(path.low, close[-1] * np.exp((raw[:5, 0] - 0.5) * scale), rtol=1e-5)
    np.testing.assert_allclose(path.high, close[-1] * np.exp((raw[:5, 2] + 0.5) * scale), rtol=1e-5)
    assert np.all(path.low < path.median) and np.all(path.median < path.high)


def test_a_missing_or_mismatched_model_leaves_the_random_walk_and_says_why(tmp_path):
    forecaster, status = load_forecaster(AiSettings(model_dir=tmp_path))
    assert status["status"] == "degraded" and "FileNotFoundError" in status["reason"]
    assert forecaster.methods() == ("baseline",)
    close, volume = walk(300)
    with pytest.raises(MethodUnavailableError):
        forecaster.path(close, volume, "trained", 3)
    baseline = forecaster.path(close, volume, "baseline", 3)
    assert np.allclose(baseline.median, close[-1])
    tiny_model(tmp_path)
    card = json.loads((tmp_path / "forecast-1h.json").read_text())
    card["architecture"]["hidden"] = 8  # weights of another shape
    (tmp_path / "forecast-1h.json").write_text(json.dumps(card))
    _, status = load_forecaster(AiSettings(model_dir=tmp_path))
    assert status["status"] == "degraded" and "does not match" in status["reason"]


def test_features_use_only_the_past():
    close, volume = walk(500)
    early, _ = features.features(close[:300], volume[:300], np.array([299]))
    full, _ = features.features(close, volume, np.array([299]))
    np.testing.assert_array_equal(early, full)
    with pytest.raises(ValueError):
        features.features(close, volume, np.array([features.VOL_BARS - 1]))


def test_conformal_widening_covers_the_held_out_share():
    rng = np.random.default_rng(5)
    y = rng.normal(size=(999, 1))
    low, high = np.full_like(y, -0.5), np.full_like(y, 0.5)
    widen = conformal.correction(low, high, y, 0.8)
    inside = conformal.covered(low - widen, high + widen, y).mean()
    assert 0.8 <= inside <= 0.802  # split conformal: at least 1 - alpha, by at most 1 / (n + 1) more


def test_the_signal_rule_and_its_levels():
    values = {"rsi_14": 25.0, "macd_cross": "bullish_crossover", "macd": 2.0, "macd_signal": 1.0, "ema_21": 105.0,
              "ema_50": 100.0, "stoch_rsi_k": 10.0, "stoch_rsi_d": 5.0, "bb_percent_b": -0.1, "atr_14": 2.0}
    up = signals.Forecast(median=0.01, low=-0.01, high=0.03, steps=4)
    decision = signals.decide(values, 110.0, up, {"sentiment": "positive", "sentiment_score": 0.7})
    assert decision.type == "buy" and decision.net == 1.0 and decision.score == 10.0
    assert any("RSI 14 at 25.0 (oversold)" in line for line in decision.reasoning)
    assert signals.levels("buy", 110.0, 2.0) == (113.0, 108.0, 1.5)
    assert signals.levels("sell", 110.0, 2.0) == (107.0, 112.0, 1.5)
    assert signals.levels("hold", 110.0, 2.0) == (None, None, None)
    calm = {"rsi_14": 50.0, "ema_21": 100.0, "ema_50": 100.0}
    assert signals.decide(calm, 100.0, None, None).type == "hold"


def candles(rows: list[tuple[float, float, float]]) -> Candles:
    return Candles.of([{"t": i, "o": c, "h": h, "l": lo, "c": c, "v": 1} for i, (h, lo, c) in enumerate(rows)])


def test_outcomes_are_judged_from_the_candles_that_followed():
    judge = outcomes.judge
    assert judge("buy", 100, 103, 98, 2, candles([(101, 99, 100), (103.5, 99, 103)])).result == "target_hit"
    both = judge("buy", 100, 103, 98, 2, candles([(104, 97, 100)]))
    assert both.result == "stop_hit" and both.return_pct == pytest.approx(-0.02)  # both in one candle: the stop
    expired = judge("sell", 100, 97, 102, 2, candles([(101, 99, 99.5)]))
    assert expired.result == "expired" and expired.hit and expired.return_pct == pytest.approx(0.005)
    assert judge("hold", 100, None, None, 2, candles([(101.5, 98.5, 100)])).result == "range_held"
    assert judge("hold", 100, None, None, 2, candles([(102.5, 98.5, 100)])).result == "range_broken"
    assert judge("buy", 100, 103, 98, 2, candles([])) is None


def test_confidence_is_the_laplace_hit_rate_of_the_band():
    seed = {"buy:1": {"n": 8, "hits": 5}}
    live = {"buy:1": {"n": 2, "hits": 2}}
    value, basis = calibration.confidence("buy", 3.0, seed, live)
    assert value == round(8 / 12, 4) and basis["backtest_signals"] == 8 and basis["recorded_hits"] == 2
    assert calibration.confidence("sell", 9.9, seed, live)[0] == 0.5
    assert Forecaster(None, None).methods() == ("baseline",)


def test_torch_is_imported_with_the_model_not_with_the_service():
    import subprocess
    import sys

    probe = "import sys, ai_svc.main, ai_svc.service.generator; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
