"""Prunable units of a LLaMA-architecture decoder (SmolLM2-135M; LLaMA-2/3 at paper scale).

Bonsai prunes attention heads and MLP neurons of LLaMA models (Dery et al., arXiv 2402.05406,
Section 3). With grouped-query attention (SmolLM2: 9 query heads share 3 key/value heads) a query
head cannot be removed alone without breaking the equal group sizes the attention kernel assumes,
so an attention unit here is one key/value head with the query heads that read it (its q rows, its
k and v rows, and the matching o_proj columns); without GQA (LLaMA-2 7B) a unit is one head. MLP
units are blocks of ``block`` intermediate neurons (rows of gate_proj and up_proj, columns of
down_proj). Gating and removal: :mod:`methods.pruning.units`.

Quality is forward-only: minus the mean token negative log-likelihood of the calibration text
(Bonsai scores sub-models by perplexity); evaluation reports perplexity on held-out text.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from torch import nn

from methods.core.errors import ConfigError

from .units import Architecture, LayerParts, Target


def load_decoder(folder: Path):
    """Tokenizer (right padding) and causal LM (eval mode, float32) from a local folder."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32).eval()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    return tokenizer, model


class Llama(Architecture):
    """LLaMA decoder layers: q/k/v/o attention projections and a gated (SwiGLU) MLP."""

    name = "llama"

    def layers(self, model: nn.Module) -> list[nn.Module]:
        layers = getattr(getattr(model, "model", None), "layers", None)
        if not layers or not hasattr(layers[0], "self_attn") or not hasattr(layers[0].mlp, "gate_proj"):
            raise ConfigError("model", type(model).__name__, "a LLaMA-architecture decoder (self_attn, gated mlp)")
        return list(layers)

    def parts(self, layer: nn.Module) -> LayerParts:
        attention = layer.self_attn
        head_dim = attention.head_dim
        group = attention.num_key_value_groups
        return LayerParts(((attention.q_proj, group * head_dim), (attention.k_proj, head_dim),
                           (attention.v_proj, head_dim)),
                          attention.o_proj, (layer.mlp.gate_proj, layer.mlp.up_proj), layer.mlp.down_proj)


LLAMA = Llama()


def token_nll(model: nn.Module, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed next-token negative log-likelihood of each sequence and its number of predicted tokens."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    targets = batch["input_ids"][:, 1:]
    valid = batch["attention_mask"][:, 1:].bool()
    nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    return (nll * valid).sum(1), valid.sum(1)


def perplexity(model: nn.Module, batches: list[dict]) -> float:
    """exp(mean next-token NLL over all predicted tokens of ``batches``)."""
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in batches:
            nll, tokens = token_nll(model, batch)
            total, count = total + float(nll.sum()), count + int(tokens.sum())
    return math.exp(total / count)


class DecoderTarget(Target):
    """Language-modelling quality of the calibration text: minus the mean token NLL."""

    def __init__(self, model: nn.Module, batch: dict, block: int = 64):
        super().__init__(model, LLAMA, batch, block)

    def forward(self) -> torch.Tensor:
        return self.model(input_ids=self.batch["input_ids"], attention_mask=self.batch["attention_mask"]).logits

    def quality(self) -> float:
        with torch.no_grad():
            nll, tokens = token_nll(self.model, self.batch)
        return -float(nll.sum() / tokens.sum())

    def objectives(self, probes: int, generator: torch.Generator):
        """The mean token NLL of ``probes`` disjoint slices of the calibration sentences."""
        rows = torch.randperm(len(self.batch["input_ids"]), generator=generator)
        for part in torch.tensor_split(rows, min(probes, len(rows))):
            nll, tokens = token_nll(self.model, {key: value[part] for key, value in self.batch.items()})
            yield nll.sum() / tokens.sum()
