"""Accuracy, macro-F1 and per-class figures of a sentiment model on the shared validation split, loaded the
way news-svc loads it (transformers `from_pretrained`, offline).

    .venv/bin/python -m scripts.eval_sentiment [--model news-svc/news_svc/sentiment/bundled] [--json]
"""

import argparse
import json

from news_svc.sentiment.scorer import BUNDLED, CLASSES, Scorer, load
from scripts.sentiment_data import LABELS, figures, read_split, sha256


def evaluate(model: str) -> dict:
    """The figures of `model` (a folder or a cached model id) on the validation split."""
    scorer = Scorer(load(model, allow_bundled=False), batch_size=256)
    texts, truth = read_split("valid")
    predicted_names = [s.label for s in scorer.predict(texts)]
    by_name = {name: label for label, name in LABELS.items()}
    result = figures(truth, [by_name[name] for name in predicted_names])
    scorer.close()
    return {"model": scorer.loaded.name, "version": scorer.loaded.version, "valid_sha256": sha256("valid"),
            "classes": list(CLASSES), **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(BUNDLED))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = evaluate(args.model)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['model']} {result['version']} on the validation split ({result['records']} records, "
          f"sha256 {result['valid_sha256'][:12]}...)")
    print(f"accuracy {result['accuracy']:.4f}  macro-F1 {result['macro_f1']:.4f}")
    for name, row in result["per_class"].items():
        print(f"  {name:9s} precision {row['precision']:.4f}  recall {row['recall']:.4f}  F1 {row['f1']:.4f}  "
              f"support {row['support']}")


if __name__ == "__main__":
    main()
