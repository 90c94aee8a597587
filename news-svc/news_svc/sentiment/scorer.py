"""Scoring texts with the active sentiment model: loaded once with transformers' `from_pretrained` (never a
download), batched in one worker thread off the event loop, and cached by text hash so a text seen before is
never scored again.

The model is the one named in settings (the spec's `ElKulako/cryptobert` by default) when it is in the local
model cache; otherwise the bundled model (`bundled/`, trained by scripts/train_sentiment.py). Which one is
active, and why, is in /health and on every score.
"""

import asyncio
import hashlib
import json
import logging
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from news_svc.domain.types import Scored
from news_svc.sentiment import textcnn  # noqa: F401  (registers the bundled model's classes with transformers)
from news_svc.sentiment.textcnn import clean_text

log = logging.getLogger("news.sentiment")
BUNDLED = Path(__file__).resolve().parent / "bundled"
CLASSES = ("negative", "neutral", "positive")
_ALIASES = {"negative": "negative", "bearish": "negative", "neg": "negative", "neutral": "neutral",
            "neu": "neutral", "positive": "positive", "bullish": "positive", "pos": "positive"}


class ModelLabelsError(ValueError):
    """A model whose classes cannot be read as negative, neutral and positive."""


@dataclass
class LoadedModel:
    """A model ready to score: its name and version as every score reports them."""

    name: str
    version: str
    tokenizer: object
    model: torch.nn.Module
    classes: list[str]  # our class of each output, in output order
    max_length: int
    fallback_reason: str | None = None


def _classes(model) -> list[str]:
    labels = [str(model.config.id2label[i]).lower() for i in range(model.config.num_labels)]
    classes = [_ALIASES.get(label) for label in labels]
    if None in classes or sorted(classes) != sorted(CLASSES):
        raise ModelLabelsError(f"the model's labels {labels} are not negative/neutral/positive (or bearish/bullish)")
    return classes


def load(reference: str, *, allow_bundled: bool = True) -> LoadedModel:
    """`reference` (a model id in the local cache, or a folder) with `from_pretrained`; the bundled model when
    it is not available offline."""
    try:
        return _load(reference, name=None if Path(reference).resolve() == BUNDLED else reference)
    except (OSError, ValueError) as exc:
        if not allow_bundled:
            raise
        reason = f"{reference} is not available offline ({type(exc).__name__})"
        log.info("sentiment model: %s; using the bundled model", reason)
    bundled = _load(str(BUNDLED), name=None)
    bundled.fallback_reason = reason
    return bundled


def _load(path: str, *, name: str | None) -> LoadedModel:
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True).eval()
    classes = _classes(model)
    if name is None:  # the bundled model names itself
        trained = json.loads((Path(path) / "training.json").read_text())
        name, version = "dm-textcnn-minilm", trained["version"]
    else:
        # The hub revision when it came from the model cache; else a digest of the folder's configuration.
        config = Path(path) / "config.json"
        version = getattr(model.config, "_commit_hash", None) or (
            "sha256:" + hashlib.sha256(config.read_bytes()).hexdigest()[:12] if config.exists() else "local")
    max_length = min(getattr(model.config, "max_tokens", None) or 128, tokenizer.model_max_length, 128)
    return LoadedModel(name, version, tokenizer, model, classes, max_length)


def text_key(text: str) -> str:
    """The cache key of a text: its SHA-256."""
    return hashlib.sha256(text.encode()).hexdigest()


class Scorer:
    """Scores texts with one loaded model; results cached by text hash (in process, bounded)."""

    def __init__(self, loaded: LoadedModel, *, batch_size: int = 64, cache_size: int = 200_000,
                 threads: int | None = None):
        if threads:
            # torch's threads are per process: one leaves the other core to the event loop serving requests.
            torch.set_num_threads(threads)
        self.loaded = loaded
        self.batch_size = batch_size
        self._cache: OrderedDict[str, Scored] = OrderedDict()
        self._cache_size = cache_size
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sentiment")
        self.scored = 0

    def close(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)

    def predict(self, texts: list[str]) -> list[Scored]:
        """Score texts now, in batches of similar length (less padding), in the calling thread (the worker and
        the benchmark use this)."""
        loaded = self.loaded
        cleaned = [clean_text(t) or t for t in texts]
        ids = loaded.tokenizer(cleaned, truncation=True, max_length=loaded.max_length)["input_ids"]
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        out: list[Scored | None] = [None] * len(texts)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            encoded = loaded.tokenizer.pad({"input_ids": [ids[i] for i in chunk]}, return_tensors="pt")
            with torch.inference_mode():
                probabilities = torch.softmax(loaded.model(**encoded).logits.float(), dim=-1).tolist()
            for index, row in zip(chunk, probabilities, strict=True):
                out[index] = self._scored(row)
        self.scored += len(texts)
        return out

    def _scored(self, row: list[float]) -> Scored:
        loaded = self.loaded
        by_class = dict.fromkeys(CLASSES, 0.0)
        for cls, p in zip(loaded.classes, row, strict=True):
            by_class[cls] += p
        label = max(by_class, key=by_class.get)
        return Scored(label=label, score=round(by_class["positive"] - by_class["negative"], 4),
                      probabilities={k: round(v, 4) for k, v in by_class.items()},
                      model=loaded.name, model_version=loaded.version)

    async def score(self, texts: list[str]) -> list[Scored]:
        """Scores of `texts` in order: cached ones at once, the others in one batched run off the loop."""
        keys = [text_key(t) for t in texts]
        found: dict[str, Scored] = {}
        for key in keys:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                found[key] = hit.model_copy(update={"cached": True})
        missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in found}
        if missing:
            loop = asyncio.get_running_loop()
            fresh = await loop.run_in_executor(self._worker, self.predict, list(missing.values()))
            for key, scored in zip(missing, fresh, strict=True):
                found[key] = scored
                self._cache[key] = scored
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return [found[key] for key in keys]

    def describe(self) -> dict:
        """The active model, for /health."""
        loaded = self.loaded
        return {"model": loaded.name, "version": loaded.version, "fallback_reason": loaded.fallback_reason,
                "cached_texts": len(self._cache), "scored": self.scored}
