"""Prunable units of a transformer, independent of its architecture: attention units and MLP blocks.

Bonsai (Dery et al., arXiv 2402.05406, Section 3) prunes attention heads and MLP intermediate
neurons. Every layer here has ``heads`` attention units (a head, or with grouped-query attention a
key/value head together with the query heads that share it) and ``blocks`` contiguous blocks of
``block`` MLP neurons. An architecture (:class:`Architecture`) says which ``nn.Linear`` layers a
unit owns: rows of the layers that read the hidden state (query/key/value; MLP up-projections) and
columns of the output projections.

A unit is switched off by a multiplicative gate on its columns of the output projection's input.
Gate 0 is exactly the model with that unit removed (the output projection's bias, if any, stays),
which :func:`remove_units` then does for real. Sparsity is the fraction of the *prunable*
parameters removed; embeddings, norms and output biases are not prunable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import torch
from torch import nn

from methods.core.errors import ConfigError


@dataclass(frozen=True)
class LayerParts:
    """The linear layers of one transformer layer that its units own.

    ``attention_in``: (layer, rows per attention unit) for each projection reading the hidden
    state; ``attention_out``: the output projection (``head_width`` input columns per unit);
    ``mlp_in``: the MLP's input projections (``block`` rows per block); ``mlp_out``: its output.
    """

    attention_in: tuple[tuple[nn.Linear, int], ...]
    attention_out: nn.Linear
    mlp_in: tuple[nn.Linear, ...]
    mlp_out: nn.Linear


class Architecture:
    """Where the units of one model family live. Subclasses implement the three hooks below."""

    name = "transformer"

    def layers(self, model: nn.Module) -> list[nn.Module]:
        raise NotImplementedError

    def parts(self, layer: nn.Module) -> LayerParts:
        raise NotImplementedError

    def resize_attention(self, layer: nn.Module, units: int, head_width: int) -> None:
        """Update the attention module's bookkeeping after it kept ``units`` attention units."""


@dataclass(frozen=True)
class UnitLayout:
    """How many attention units and neuron blocks each layer has, and the parameters of each."""

    layers: int
    heads: int
    head_width: int
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
        """A flat per-unit vector as ``(attention units [L, H], blocks [L, B])``."""
        per_layer = flat.reshape(self.layers, self.heads + self.blocks)
        return per_layer[:, :self.heads], per_layer[:, self.heads:]


def _bias(linear: nn.Linear) -> int:
    return 1 if linear.bias is not None else 0


def unit_layout(model: nn.Module, arch: Architecture, block: int = 32) -> UnitLayout:
    layers = arch.layers(model)
    parts = arch.parts(layers[0])
    inner = parts.mlp_out.in_features
    if inner % block:
        raise ConfigError("block", block, f"a divisor of the MLP width {inner}")
    width = parts.attention_in[0][1]
    heads = parts.attention_out.in_features // width
    head_params = sum(rows * (linear.in_features + _bias(linear)) for linear, rows in parts.attention_in)
    head_params += parts.attention_out.out_features * width
    block_params = sum(block * (linear.in_features + _bias(linear)) for linear in parts.mlp_in)
    block_params += parts.mlp_out.out_features * block
    return UnitLayout(len(layers), heads, width, inner // block, block, head_params, block_params)


class UnitGates:
    """Multiplicative gates on every attention unit and neuron block (forward pre-hooks)."""

    def __init__(self, model: nn.Module, layout: UnitLayout, arch: Architecture):
        self.layout = layout
        self.values = torch.ones(layout.units)
        self._handles = []
        for index, layer in enumerate(arch.layers(model)):
            parts = arch.parts(layer)
            self._handles.append(parts.attention_out.register_forward_pre_hook(self._hook(index, True)))
            self._handles.append(parts.mlp_out.register_forward_pre_hook(self._hook(index, False)))

    def _hook(self, index: int, attention: bool):
        def hook(module, inputs):
            heads, blocks = self.layout.split(self.values)
            gate = heads[index].repeat_interleave(self.layout.head_width) if attention else \
                blocks[index].repeat_interleave(self.layout.block)
            return (inputs[0] * gate.to(device=inputs[0].device, dtype=inputs[0].dtype),) + tuple(inputs[1:])
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


def _unit_rows(units: torch.Tensor, width: int) -> torch.Tensor:
    return (units[:, None] * width + torch.arange(width)).flatten()


def _uninitialised(like: nn.Linear, in_features: int, out_features: int) -> nn.Linear:
    """A linear layer of ``like``'s kind, device and dtype whose parameters the caller fills (the
    random initialisation ``nn.Linear`` would draw, then overwrite, took a tenth of an evaluation)."""
    return nn.utils.skip_init(nn.Linear, in_features, out_features, like.bias is not None,
                              device=like.weight.device, dtype=like.weight.dtype)


def _rows(linear: nn.Linear, idx: torch.Tensor) -> nn.Linear:
    new = _uninitialised(linear, linear.in_features, len(idx))
    new.weight.data.copy_(linear.weight.detach()[idx])
    if linear.bias is not None:
        new.bias.data.copy_(linear.bias.detach()[idx])
    return new


def _columns(linear: nn.Linear, idx: torch.Tensor) -> nn.Linear:
    new = _uninitialised(linear, len(idx), linear.out_features)
    new.weight.data.copy_(linear.weight.detach()[:, idx])
    if linear.bias is not None:
        new.bias.data.copy_(linear.bias.detach())
    return new


def _replace(layer: nn.Module, old: nn.Linear, new: nn.Linear) -> None:
    for name, module in layer.named_modules():
        for child_name, child in module.named_children():
            if child is old:
                setattr(module, child_name, new)
                return
    raise ValueError(f"{type(old).__name__} not found in {type(layer).__name__}")


def remove_units(model: nn.Module, keep: torch.Tensor, layout: UnitLayout, arch: Architecture) -> nn.Module:
    """Physically remove the switched-off units (in place); returns ``model``.

    Every layer must keep at least one attention unit and one block (the selection functions
    ensure it).
    """
    heads, blocks = layout.split(keep.bool())
    for index, layer in enumerate(arch.layers(model)):
        head_idx = torch.nonzero(heads[index]).flatten()
        block_idx = torch.nonzero(blocks[index]).flatten()
        if len(head_idx) == 0 or len(block_idx) == 0:
            raise ConfigError("keep", f"layer {index}", "at least one attention unit and one neuron block per layer")
        parts = arch.parts(layer)
        for linear, rows in parts.attention_in:
            _replace(layer, linear, _rows(linear, _unit_rows(head_idx, rows)))
        _replace(layer, parts.attention_out, _columns(parts.attention_out, _unit_rows(head_idx, layout.head_width)))
        neurons = _unit_rows(block_idx, layout.block)
        for linear in parts.mlp_in:
            _replace(layer, linear, _rows(linear, neurons))
        _replace(layer, parts.mlp_out, _columns(parts.mlp_out, neurons))
        arch.resize_attention(layer, len(head_idx), layout.head_width)
    return model


def weight_scores(model: nn.Module, layout: UnitLayout, arch: Architecture) -> torch.Tensor:
    """Mean |w| over each unit's weights (rows of the input projections, columns of the output
    projection): the weight-magnitude baseline, one score per unit (higher = keep)."""
    def total(linear: nn.Linear) -> torch.Tensor:
        return linear.weight.detach().abs().float()  # half-precision sums lose digits or overflow

    scores = []
    for layer in arch.layers(model):
        parts = arch.parts(layer)
        head = sum(total(linear).sum(1).reshape(layout.heads, rows).sum(1) for linear, rows in parts.attention_in)
        head = head + total(parts.attention_out).sum(0).reshape(layout.heads, layout.head_width).sum(1)
        inner = sum(total(linear).sum(1) for linear in parts.mlp_in) + total(parts.mlp_out).sum(0)
        block = inner.reshape(layout.blocks, layout.block).sum(1)
        head_weights = sum(rows * linear.in_features for linear, rows in parts.attention_in)
        head_weights += parts.attention_out.out_features * layout.head_width
        block_weights = layout.block * (sum(linear.in_features for linear in parts.mlp_in) + parts.mlp_out.out_features)
        scores.append(torch.cat([head / head_weights, block / block_weights]))
    return torch.cat(scores).double().cpu()


def add_output_bias(model: nn.Module, arch: Architecture, increments) -> nn.Module:
    """Add per-layer ``(attention, MLP)`` increments to the output projections' biases (a bias is
    created where the projection has none, as FLAP does for LLaMA); returns ``model``."""
    for layer, pair in zip(arch.layers(model), increments):
        parts = arch.parts(layer)
        for linear, increment in zip((parts.attention_out, parts.mlp_out), pair):
            increment = increment.to(device=linear.weight.device, dtype=linear.weight.dtype)
            if linear.bias is None:
                linear.bias = nn.Parameter(increment.clone(), requires_grad=False)
            else:
                linear.bias.data.add_(increment)
    return model


class Target:
    """A model prepared for structured pruning on a calibration batch (``input_ids``,
    ``attention_mask``): its unit layout, gates, and a quality measured with forward passes only.

    ``calibration`` (optional) draws a fresh calibration batch from a seed: Bonsai redraws its
    calibration windows every round (:meth:`redraw`). Subclasses define :meth:`quality` (higher is
    better) and :meth:`objectives` (scalars whose gradients the Taylor baseline needs);
    :meth:`batches` is the calibration batch as the model takes it (the whole batch unless a
    subclass splits it).
    """

    def __init__(self, model: nn.Module, arch: Architecture, batch: dict, block: int,
                 calibration: Callable[[int], dict] | None = None):
        self.model, self.arch, self.batch = model, arch, batch
        self.calibration = calibration
        self.layout = unit_layout(model, arch, block)
        self.gates = UnitGates(model, self.layout, arch)

    def use(self, batch: dict) -> None:
        """Score on ``batch`` from now on."""
        self.batch = batch

    def redraw(self, seed: int) -> None:
        """A fresh calibration batch from ``calibration(seed)``; without ``calibration`` the batch stays."""
        if self.calibration is not None:
            self.use(self.calibration(seed))

    def batches(self) -> list[dict]:
        return [self.batch]

    def quality(self) -> float:
        raise NotImplementedError

    def objectives(self, probes: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
        raise NotImplementedError

    def close(self) -> None:
        self.gates.remove()
