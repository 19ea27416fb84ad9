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

from methods.core.errors import ConfigError, DataError

from .placement import CPU, Placement
from .units import Architecture, LayerParts, Target


def load_decoder(folder: Path, placement: Placement = CPU):
    """Tokenizer (right padding) and causal LM (eval mode) from a local folder, on ``placement``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return _load(str(folder), placement)


def load_hub_decoder(repo: str, placement: Placement):
    """Tokenizer and causal LM of a Hugging Face hub repository (e.g. ``meta-llama/Llama-2-7b-hf``).

    Needs internet, or the model already in the local hub cache; Meta's LLaMA repositories are
    gated, so also a token with access granted (``HF_TOKEN`` or ``hf auth login``).
    """
    try:
        return _load(repo, placement)
    except OSError as error:
        raise DataError(f"model {repo}: could not be loaded from the Hugging Face hub ({error}); it needs "
                        "internet and, for a gated model, a token with access (HF_TOKEN or `hf auth login`)") from error


def _load(source: str, placement: Placement):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source)
    on_gpu = {"device_map": placement.device} if placement.device != "cpu" else {}
    model = AutoModelForCausalLM.from_pretrained(source, dtype=placement.torch_dtype, **on_gpu).eval()
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
    ids = batch["input_ids"]
    logits = model(input_ids=ids, attention_mask=batch["attention_mask"]).logits.float()
    # every position's row of the contiguous (tokens, vocabulary) logits, the last one ignored (it predicts
    # nothing): about 3x faster than the class-dim-1 form on a transposed, sliced copy
    targets = torch.full_like(ids, -100)
    targets[:, :-1] = ids[:, 1:]
    nll = torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none")
    valid = batch["attention_mask"][:, 1:].bool()
    return (nll.view_as(ids)[:, :-1] * valid).sum(1), valid.sum(1)


def perplexity(model: nn.Module, batches: list[dict]) -> float:
    """exp(mean next-token NLL over all predicted tokens of ``batches``)."""
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in batches:
            nll, tokens = token_nll(model, batch)
            total, count = total + float(nll.sum()), count + int(tokens.sum())
    return math.exp(total / count)


# Bonsai clips a sub-model's perplexity at this value (``INF`` in ``main.py``)
PERPLEXITY_CAP = 1e8


class DecoderTarget(Target):
    """Language-modelling quality of the calibration text: minus its perplexity, capped at 1e8, as
    Bonsai scores sub-models (``get_random_mask_scores`` in ``main.py`` of ``ldery/Bonsai`` @
    2f911d789e4e426e8b0850414bcdcadc9fb52ce4 regresses on ``-ppl``).

    ``rows`` bounds the sequences of one forward pass (paper scale: long windows of a 7B model);
    ``None`` runs the whole calibration batch at once.
    """

    def __init__(self, model: nn.Module, batch: dict, block: int = 64, rows: int | None = None, calibration=None):
        super().__init__(model, LLAMA, batch, block, calibration)
        self.rows = rows

    def batches(self) -> list[dict]:
        if self.rows is None:
            return [self.batch]
        count = len(self.batch["input_ids"])
        return [{key: value[i:i + self.rows] for key, value in self.batch.items()} for i in range(0, count, self.rows)]

    def quality(self) -> float:
        total, count = 0.0, 0
        with torch.no_grad():
            for batch in self.batches():
                nll, tokens = token_nll(self.model, batch)
                total, count = total + nll.sum(), count + tokens.sum()
        return -math.exp(min(float(total / count), math.log(PERPLEXITY_CAP)))

    def objectives(self, probes: int, generator: torch.Generator):
        """The mean token NLL of ``probes`` disjoint slices of the calibration sentences."""
        rows = torch.randperm(len(self.batch["input_ids"]), generator=generator)
        for part in torch.tensor_split(rows, min(probes, len(rows))):
            part = part.to(self.batch["input_ids"].device)
            nll, tokens = token_nll(self.model, {key: value[part] for key, value in self.batch.items()})
            yield nll.sum() / tokens.sum()
