"""The sentiment model through the real transformers loading path: a tiny model built here, the bundled
model's measured figures on the shared validation split, and the scoring cache."""

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

from news_svc.sentiment.scorer import BUNDLED, ModelLabelsError, Scorer, load
from scripts.eval_sentiment import evaluate

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "bitcoin", "price", "crash", "soar", "the", "etf", "ban"]


def tiny_model(path, labels=("Bearish", "Neutral", "Bullish")):
    """A one-layer BERT classifier saved as transformers saves any model."""
    (path / "vocab.txt").write_text("\n".join(WORDS) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(path / "vocab.txt"))
    config = BertConfig(vocab_size=len(WORDS), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64, num_labels=len(labels),
                        id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)})
    torch.manual_seed(7)
    model = BertForSequenceClassification(config).eval()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return model, tokenizer


def test_a_model_folder_is_loaded_with_from_pretrained_and_its_labels_mapped(tmp_path):
    model, tokenizer = tiny_model(tmp_path)
    loaded = load(str(tmp_path))
    assert loaded.name == str(tmp_path) and loaded.fallback_reason is None
    assert loaded.classes == ["negative", "neutral", "positive"]  # Bearish, Neutral, Bullish
    texts = ["bitcoin price crash", "the etf soar"]
    scored = Scorer(loaded).predict(texts)
    with torch.inference_mode():
        expected = torch.softmax(model(**tokenizer(texts, padding=True, return_tensors="pt")).logits, -1).tolist()
    for result, row in zip(scored, expected, strict=True):
        assert result.probabilities == pytest.approx(dict(zip(["negative", "neutral", "positive"], row,
                                                              strict=True)), abs=1e-4)
        assert result.score == pytest.approx(row[2] - row[0], abs=1e-4)
        assert result.label == ["negative", "neutral", "positive"][max(range(3), key=row.__getitem__)]
        assert result.model == str(tmp_path)


def test_a_model_whose_labels_are_not_sentiments_is_refused(tmp_path):
    tiny_model(tmp_path, labels=("LABEL_0", "LABEL_1", "LABEL_2"))
    with pytest.raises(ModelLabelsError):
        load(str(tmp_path), allow_bundled=False)


def test_a_model_missing_offline_falls_back_to_the_bundled_one_and_says_why(tmp_path):
    loaded = load(str(tmp_path / "nothing-here"))
    assert loaded.name == "dm-textcnn-minilm" and loaded.version.startswith("1.0+")
    assert str(tmp_path / "nothing-here") in loaded.fallback_reason


async def test_a_seen_text_is_never_scored_again():
    scorer = Scorer(load(str(BUNDLED)))
    first = await scorer.score(["Bitcoin ETF approved, price soars", "Exchange hacked, funds stolen"])
    again = await scorer.score(["Exchange hacked, funds stolen", "Bitcoin ETF approved, price soars"])
    assert scorer.scored == 2 and [s.cached for s in again] == [True, True]
    assert [s.label for s in again] == [first[1].label, first[0].label]
    scorer.close()


def test_the_bundled_model_reaches_the_target_on_the_validation_split():
    figures = evaluate(str(BUNDLED))
    assert figures["records"] == 2388
    assert figures["macro_f1"] >= 0.80, figures
