"""Train the bundled sentiment model on the train split only (a tenth of it held out for early stopping;
the validation split is never seen here).

    .venv/bin/python -m scripts.train_sentiment [--out news-svc/news_svc/sentiment/bundled] [--epochs 12]
"""

import argparse
import hashlib
import json
import random
import time
from pathlib import Path

import torch
from transformers import AutoTokenizer

from news_svc.sentiment.textcnn import TextCnnConfig, TextCnnForSequenceClassification, base_model_path, clean_text
from scripts.sentiment_data import LABELS, figures, read_split, sha256

BUNDLED = "news-svc/news_svc/sentiment/bundled"


def batches(encoded: dict, labels: list[int], order: list[int], size: int):
    for start in range(0, len(order), size):
        index = order[start:start + size]
        ids = encoded["input_ids"][index]
        width = int(encoded["attention_mask"][index].sum(1).max())
        yield ids[:, :width], encoded["attention_mask"][index][:, :width], torch.tensor([labels[i] for i in index])


def predict(model, encoded: dict) -> list[int]:
    model.eval()
    out = []
    with torch.inference_mode():
        for ids, mask, _ in batches(encoded, [0] * len(encoded["input_ids"]), list(range(len(encoded["input_ids"]))),
                                    256):
            out += model(input_ids=ids, attention_mask=mask).logits.argmax(1).tolist()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=BUNDLED)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    texts, labels = read_split("train")
    order = list(range(len(texts)))
    random.shuffle(order)
    held = set(order[: len(order) // 10])
    fit = [i for i in order if i not in held]
    dev = sorted(held)
    tokenizer = AutoTokenizer.from_pretrained(str(base_model_path()), local_files_only=True)
    config = TextCnnConfig(num_labels=3, id2label=LABELS, label2id={v: k for k, v in LABELS.items()})
    encoded = tokenizer([clean_text(t) for t in texts], truncation=True, max_length=config.max_tokens,
                        padding="max_length", return_tensors="pt")
    model = TextCnnForSequenceClassification(config)
    model.load_base_embeddings()
    counts = torch.bincount(torch.tensor([labels[i] for i in fit]), minlength=3).float()
    weights = (counts.sum() / counts).sqrt()  # leans toward the rare classes, for macro-F1
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3, weight_decay=1e-4)
    dev_encoded = {k: v[dev] for k, v in encoded.items()}
    best, best_state, started = -1.0, None, time.time()
    for epoch in range(args.epochs):
        model.train()
        random.shuffle(fit)
        for ids, mask, target in batches(encoded, labels, fit, 64):
            logits = model(input_ids=ids, attention_mask=mask).logits
            loss = torch.nn.functional.cross_entropy(logits, target, weight=weights)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        score = figures([labels[i] for i in dev], predict(model, dev_encoded))["macro_f1"]
        print(f"epoch {epoch + 1}: held-out macro-F1 {score:.4f} ({time.time() - started:.0f}s)", flush=True)
        if score > best:
            best, best_state = score, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state, strict=False)
    model.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    weights = hashlib.sha256(Path(args.out, "model.safetensors").read_bytes()).hexdigest()
    with open(f"{args.out}/training.json", "w") as handle:
        json.dump({"version": f"1.0+{weights[:8]}", "train_sha256": sha256("train"), "records": len(texts),
                   "fit": len(fit), "held_out": len(dev), "held_out_macro_f1": best,
                   "epochs": args.epochs, "seed": args.seed,
                   "seconds": round(time.time() - started)}, handle, indent=2)
    print(f"saved to {args.out}; best held-out macro-F1 {best:.4f}")


if __name__ == "__main__":
    main()
