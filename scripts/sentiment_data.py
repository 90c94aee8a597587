"""The labelled sentiment data (tests/data/sentiment, from zeroshot/twitter-financial-news-sentiment) and
the figures every report of the model uses."""

import csv
import hashlib
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "sentiment"
# The dataset's labels (0 Bearish, 1 Bullish, 2 Neutral) as the suite names them.
LABELS = {0: "negative", 1: "positive", 2: "neutral"}


def read_split(name: str) -> tuple[list[str], list[int]]:
    """Texts and labels of `train` or `valid` (the files hold quoted line breaks: a real CSV parser)."""
    with open(DATA / f"sent_{name}.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [r["text"] for r in rows], [int(r["label"]) for r in rows]


def sha256(name: str) -> str:
    """Checksum of a split's file, as the model card states it."""
    return hashlib.sha256((DATA / f"sent_{name}.csv").read_bytes()).hexdigest()


def figures(truth: list[int], predicted: list[int]) -> dict:
    """Accuracy, macro-F1 and per-class precision, recall and F1."""
    per_class = {}
    for label, name in LABELS.items():
        tp = sum(t == label and p == label for t, p in zip(truth, predicted, strict=True))
        fp = sum(t != label and p == label for t, p in zip(truth, predicted, strict=True))
        fn = sum(t == label and p != label for t, p in zip(truth, predicted, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                           "support": tp + fn}
    accuracy = sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth)
    macro = sum(c["f1"] for c in per_class.values()) / len(per_class)
    return {"records": len(truth), "accuracy": round(accuracy, 4), "macro_f1": round(macro, 4), "per_class": per_class}
