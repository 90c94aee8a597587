"""Walk-forward evaluation of the forecast methods and the signal backtest, over the recorded history.

    .venv/bin/python -m bench.backtest            # prints the tables docs/models.md quotes
    .venv/bin/python -m bench.backtest --write    # and writes the figures into the model card the API serves

Everything runs on the last 20 % of each symbol's hourly candles, which neither training nor calibration
saw; the model is loaded through the service's own loading path. Signals are the service's rule without
news sentiment (the history has none); their confidence seed is measured on the calibration 20 %.
"""

import argparse
import math
from typing import Any

import numpy as np

from ai_svc.domain import calibration, indicators, outcomes, signals
from ai_svc.domain.candles import Candles
from ai_svc.forecast import artifact, features, history, methods
from ai_svc.forecast.forecaster import Forecaster

STEPS = (1, 24)
RANDOM_RUNS = 200


def newey_west_p(d: np.ndarray, lag: int) -> float:
    """Two-sided p-value that the mean of the loss differential d is 0 (Diebold-Mariano, Newey-West variance)."""
    n, centred = len(d), d - d.mean()
    variance = centred @ centred / n
    for k in range(1, lag + 1):
        variance += 2 * (1 - k / (lag + 1)) * (centred[k:] @ centred[:-k]) / n
    if variance <= 0:
        return 1.0
    z = d.mean() / math.sqrt(variance / n)
    return math.erfc(abs(z) / math.sqrt(2))


def pinball(y: np.ndarray, q: np.ndarray) -> float:
    """Mean pinball loss of the three quantiles (columns of q) against y, in the units of y."""
    levels = np.array(features.QUANTILES)
    error = y[:, None] - q
    return float(np.maximum(levels * error, (levels - 1) * error).mean())


def forecast_rows(forecaster: Forecaster, recorded: history.Recorded) -> dict[str, Any]:
    """Per method and step: MAE, hit rate, pinball, coverage on the test span, and the random walk's."""
    c = recorded.candles
    ends = np.arange(recorded.calibration_end, len(c) - features.H_MAX)
    out: dict[str, Any] = {"samples": len(ends)}
    for method in forecaster.methods():
        q = forecaster.log_quantiles(c.c, c.v, ends, method)
        for step in STEPS:
            actual = np.exp(np.log(c.c[ends + step] / c.c[ends])) - 1
            pred = np.exp(q[:, step - 1]) - 1  # (n, 3) returns
            moved = actual != 0
            out.setdefault(step, {})[method] = {
                "mae_pct": float(np.abs(pred[:, 1] - actual).mean() * 100),
                # The random walk's median is "no change": it calls no direction.
                "hit_rate": None if method == "baseline" else
                float((np.sign(pred[moved, 1]) == np.sign(actual[moved])).mean()),
                "pinball_pct": pinball(actual * 100, pred * 100),
                "coverage": float(((actual >= pred[:, 0]) & (actual <= pred[:, 2])).mean()),
                "p_vs_random_walk": newey_west_p(np.abs(pred[:, 1] - actual) - np.abs(actual), step),
            }
    for step in STEPS:
        actual = c.c[ends + step] / c.c[ends] - 1
        previous = c.c[ends] / c.c[ends - step] - 1
        moved = (actual != 0) & (previous != 0)
        out[step]["random_walk"] = {"mae_pct": float(np.abs(actual).mean() * 100),
                                    "opposite_of_last_move_hit_rate":
                                        float((np.sign(-previous[moved]) == np.sign(actual[moved])).mean())}
    return out


def pooled(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Sample-weighted means over the symbols (p-values are not pooled)."""
    weights = np.array([r["samples"] for r in rows], dtype=float)
    out: dict[str, Any] = {"samples": int(weights.sum())}
    for step in STEPS:
        out[step] = {}
        for method, figures in rows[0][step].items():
            out[step][method] = {k: None if figures[k] is None else
                                 float(np.average([r[step][method][k] for r in rows], weights=weights))
                                 for k in figures if k != "p_vs_random_walk"}
    return out


def skill(figures: dict[str, Any], p: float, step: int) -> str:
    """A plain statement of the method's skill at one step."""
    rw = figures["random_walk"]
    ratio = figures["method"]["mae_pct"] / rw["mae_pct"]
    hit = figures["method"]["hit_rate"]
    direction = "" if hit is None else (f", direction hit rate {hit * 100:.1f} % against "
                                        f"{rw['opposite_of_last_move_hit_rate'] * 100:.1f} % for 'opposite of the "
                                        f"last move'")
    if ratio < 1 and p < 0.05:
        return f"MAE {(1 - ratio) * 100:.1f} % below the random walk's at {step} h (p={p:.3f}){direction}"
    return f"no skill over the random walk at {step} h: MAE {ratio:.3f}x the random walk's (p={p:.2f}){direction}"


def signal_run(forecaster: Forecaster, recorded: history.Recorded, start: int, end: int,
               method: str) -> list[dict[str, Any]]:
    """The service's signal rule at every candle in [start, end), judged on the candles that followed."""
    c = recorded.candles
    horizon = signals.HORIZON_CANDLES
    ends = np.arange(max(start, features.VOL_BARS), end - horizon)
    values = indicators.series(c)
    q = forecaster.log_quantiles(c.c, c.v, ends, method)[:, horizon - 1]
    rows = []
    for k, i in enumerate(ends):
        at = indicators.at(values, int(i))
        price = float(c.c[i])
        forecast = signals.Forecast(*(float(np.exp(x) - 1) for x in (q[k, 1], q[k, 0], q[k, 2])), steps=horizon)
        decision = signals.decide(at, price, forecast, None)
        target, stop, _ = signals.levels(decision.type, price, at["atr_14"])
        after = Candles(*(col[i + 1:i + 1 + horizon] for col in (c.t, c.o, c.h, c.l, c.c, c.v)))
        outcome = outcomes.judge(decision.type, price, target, stop, at["atr_14"], after)
        rows.append({"i": int(i), "type": decision.type, "score": decision.score, "price": price,
                     "atr": at["atr_14"], "outcome": outcome, "hold_return": float(c.c[i + horizon] / price - 1)})
    return rows


def seed(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Outcome counts per confidence band."""
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        band = counts.setdefault(calibration.bucket(row["type"], row["score"]), {"n": 0, "hits": 0})
        band["n"] += 1
        band["hits"] += int(row["outcome"].hit)
    return counts


def random_signals(rows: list[dict[str, Any]], recorded: history.Recorded, rng: np.random.Generator) -> tuple:
    """Hit rate and mean return of buys and sells at the same candles with their types shuffled."""
    c = recorded.candles
    trades = [r for r in rows if r["type"] != "hold"]
    hits, returns = [], []
    for _ in range(RANDOM_RUNS):
        kinds = rng.permutation([r["type"] for r in trades])
        run_hits, run_returns = 0, []
        for row, kind in zip(trades, kinds, strict=True):
            i, price = row["i"], row["price"]
            target, stop, _ = signals.levels(kind, price, row["atr"])
            after = Candles(*(col[i + 1:i + 1 + signals.HORIZON_CANDLES] for col in (c.t, c.o, c.h, c.l, c.c, c.v)))
            outcome = outcomes.judge(kind, price, target, stop, row["atr"], after)
            run_hits += outcome.hit
            run_returns.append(outcome.return_pct)
        hits.append(run_hits / len(trades))
        returns.append(float(np.mean(run_returns)))
    return np.array(hits), np.array(returns)


def signal_table(forecaster: Forecaster, data: list[history.Recorded], method: str) -> tuple[list[str], dict]:
    """The signal backtest's lines and figures, with the confidence seed from the calibration span."""
    rng = np.random.default_rng(12)
    lines = ["| symbol | signals (buy/sell/hold) | hit rate buy+sell | mean return per buy/sell | "
             "random signals, same timing: hit rate | mean return (95 % range) | buy-and-hold, mean 4 h return | "
             "hold: range held |", "|---|---|---|---|---|---|---|---|"]
    seeds: dict[str, dict[str, int]] = {}
    figures: dict[str, Any] = {}
    for recorded in data:
        for key, band in seed(signal_run(forecaster, recorded, recorded.train_end, recorded.calibration_end,
                                         method)).items():
            total = seeds.setdefault(key, {"n": 0, "hits": 0})
            total["n"] += band["n"]
            total["hits"] += band["hits"]
        rows = signal_run(forecaster, recorded, recorded.calibration_end, len(recorded.candles), method)
        trades = [r for r in rows if r["type"] != "hold"]
        holds = [r for r in rows if r["type"] == "hold"]
        count = {k: sum(r["type"] == k for r in rows) for k in ("buy", "sell", "hold")}
        hit = float(np.mean([r["outcome"].hit for r in trades])) if trades else float("nan")
        ret = float(np.mean([r["outcome"].return_pct for r in trades])) if trades else float("nan")
        rand_hits, rand_returns = random_signals(rows, recorded, rng)
        hold_all = float(np.mean([r["hold_return"] for r in rows]))
        held = float(np.mean([r["outcome"].hit for r in holds])) if holds else float("nan")
        lo, hi = np.percentile(rand_returns, [2.5, 97.5])
        lines.append(f"| {recorded.symbol} | {len(rows)} ({count['buy']}/{count['sell']}/{count['hold']}) | "
                     f"{hit * 100:.1f} % | {ret * 100:+.3f} % | {rand_hits.mean() * 100:.1f} % | "
                     f"{rand_returns.mean() * 100:+.3f} % ({lo * 100:+.3f} .. {hi * 100:+.3f}) | "
                     f"{hold_all * 100:+.3f} % | {held * 100:.1f} % |")
        figures[recorded.symbol] = {"signals": len(rows), **count, "hit_rate": hit, "mean_return_pct": ret * 100,
                                    "random_hit_rate": float(rand_hits.mean()),
                                    "random_mean_return_pct": float(rand_returns.mean() * 100),
                                    "buy_and_hold_mean_return_pct": hold_all * 100, "hold_range_held": held}
    return lines, {"test": figures, "seed": seeds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the figures into the model card")
    parser.add_argument("--signal-method", default="ensemble", choices=methods.METHODS)
    args = parser.parse_args()
    model = artifact.load(artifact.DEFAULT_DIR, "1h")
    forecaster = Forecaster(model, model.card)
    data = history.read_all()
    first = data[0]
    print(f"Test span (last 20 %): {history.span(first.candles, first.calibration_end, len(first.candles))}, "
          f"{len(first.candles) - first.calibration_end} hourly candles per symbol\n")
    per_symbol = {r.symbol: forecast_rows(forecaster, r) for r in data}
    per_symbol["both"] = pooled(list(per_symbol.values()))
    evaluation: dict[str, Any] = {"test_span": history.span(first.candles, first.calibration_end,
                                                            len(first.candles)), "horizons": {}}
    skills: dict[str, dict[str, str]] = {m: {} for m in forecaster.methods()}
    for step in STEPS:
        print(f"### {step} h ahead\n")
        print("| symbol | method | MAE | direction hit rate | pinball loss | 80 % interval coverage | p (MAE = RW) |")
        print("|---|---|---|---|---|---|---|")
        horizon = evaluation["horizons"].setdefault(f"{step}h", {})
        for symbol, rows in per_symbol.items():
            rw = rows[step]["random_walk"]
            print(f"| {symbol} | random walk (no change) | {rw['mae_pct']:.3f} % | "
                  f"opposite of last move: {rw['opposite_of_last_move_hit_rate'] * 100:.1f} % | | | |")
            for method in forecaster.methods():
                f = rows[step][method]
                p = f.get("p_vs_random_walk")
                label = "baseline (random walk, empirical volatility)" if method == "baseline" else method
                hit = "no direction" if f["hit_rate"] is None else f"{f['hit_rate'] * 100:.1f} %"
                print(f"| {symbol} | {label} | {f['mae_pct']:.3f} % | {hit} | "
                      f"{f['pinball_pct']:.4f} % | {f['coverage'] * 100:.1f} % | {'' if p is None else f'{p:.3f}'} |")
            horizon[symbol] = {"random_walk_mae_pct": round(rw["mae_pct"], 4),
                               "opposite_of_last_move_hit_rate": round(rw["opposite_of_last_move_hit_rate"], 4),
                               **{m: {k: None if v is None else round(v, 4) for k, v in rows[step][m].items()}
                                  for m in forecaster.methods()}}
        print()
        for method in forecaster.methods():
            both = per_symbol["both"][step]
            worst_p = max(per_symbol[s][step][method]["p_vs_random_walk"] for s in history.SYMBOLS)
            skills[method][f"{step}h"] = skill({"method": both[method], "random_walk": both["random_walk"]},
                                               worst_p, step)
    for method, by_step in skills.items():
        print(f"- {method}: " + "; ".join(by_step.values()))
    lines, signal_figures = signal_table(forecaster, data, args.signal_method)
    print(f"\n### Signals ({args.signal_method} forecast, {signals.HORIZON_CANDLES} h horizon, no sentiment)\n")
    print("\n".join(lines))
    if args.write:
        card = model.card
        card["evaluation"] = evaluation
        card["skill"] = {m: "; ".join(v.values()) for m, v in skills.items()}
        card["signal_calibration"] = {"method": args.signal_method, "seed_span": history.span(
            first.candles, first.train_end, first.calibration_end), "bands": signal_figures["seed"],
            "backtest": signal_figures["test"]}
        artifact.write_card(artifact.DEFAULT_DIR, "1h", card)
        print("\nwritten into", artifact.paths(artifact.DEFAULT_DIR, "1h")[0])


if __name__ == "__main__":
    main()
