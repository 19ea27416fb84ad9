"""Forward-pass unit scores read at each unit's *output projection* (o_proj / down_proj columns).

Every score here needs the input activation of the output projections, the per-unit slice of the
hidden state the unit writes back to the residual stream. :func:`output_statistics` collects, per
output projection, the token count and the sums of ``x_j`` and ``x_j**2`` of every input channel
``j`` over the calibration tokens (padding excluded), from a forward pass through the model as
gated (a switched-off unit's channels are zero).

* :func:`wanda_prior` - Bonsai's prior (``prune_method="wanda"``, ``ldery/Bonsai`` @
  2f911d789e4e426e8b0850414bcdcadc9fb52ce4, ``lib/modelling_llama_mod.py``, the "Bonsai
  Modification" blocks of ``LlamaAttention.forward`` and ``LlamaMLP.forward``): for an input
  channel ``j`` of the output projection, ``mean_i |W_ij| * RMS(x_j)`` (Wanda's ``|W| * ||x||``
  of Sun et al., ICLR 2024, Eq. 1, with the RMS over tokens); a head's score is the mean over its
  channels, and here a block of neurons' the mean over its neurons. The official code averages
  the per-batch score over forward calls; here the RMS is over all calibration tokens at once.
* :func:`flap_scores` - FLAP's fluctuation metric (An, Zhao, Yu, Tang & Wang, "Fluctuation-based
  Adaptive Structured Pruning for Large Language Models", AAAI 2024, Eq. 5-7;
  ``CASIA-IVA-Lab/FLAP`` @ 3bb57db3449dd2fa04a5c2192de80e87e33be2b1, ``lib/prune.py``
  ``prune_flap`` with its defaults ``WIFV`` and ``AL-AM``): ``S_j = Var(x_j) * ||W_:,j||^2``
  (squared for the attention projection, as the official code does), standardized over the
  channels of each layer's projection, averaged over a head's (block's) channels.
* :func:`bias_compensation` - FLAP's baseline bias: the removed channels' mean input times their
  weight columns, added to the output projection's bias (Eq. 8; ``compress(..., bias=True)``).
"""

from __future__ import annotations

import torch
from torch import nn

from .units import Architecture, UnitLayout


def output_statistics(model: nn.Module, arch: Architecture, batches) -> dict[nn.Linear, dict]:
    """``{output projection: {"n", "sum", "sq"}}`` over the non-padding tokens of ``batches``."""
    stats: dict = {}
    current: dict = {}
    handles = []
    for layer in arch.layers(model):
        parts = arch.parts(layer)
        for linear in (parts.attention_out, parts.mlp_out):
            def hook(module, inputs, output):
                x = inputs[0][current["mask"]].double()  # the gated input (pre-hooks ran before)
                entry = stats.setdefault(module, {"n": 0, "sum": 0.0, "sq": 0.0})
                entry["n"] += x.shape[0]
                entry["sum"] = entry["sum"] + x.sum(0)
                entry["sq"] = entry["sq"] + (x * x).sum(0)
            handles.append(linear.register_forward_hook(hook))
    try:
        with torch.no_grad():
            for batch in batches:
                current["mask"] = batch["attention_mask"].bool()
                model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    finally:
        for handle in handles:
            handle.remove()
    return stats


def _per_unit(channel: torch.Tensor, width: int) -> torch.Tensor:
    return channel.reshape(-1, width).mean(1)


def _projections(model: nn.Module, arch: Architecture):
    for layer in arch.layers(model):
        parts = arch.parts(layer)
        yield parts.attention_out, parts.mlp_out


def wanda_prior(model: nn.Module, layout: UnitLayout, arch: Architecture, stats: dict) -> torch.Tensor:
    """Bonsai's per-unit prior ``mean_{i, j in unit} |W_ij| * RMS(x_j)`` (flat unit order)."""
    scores = []
    for attention, mlp in _projections(model, arch):
        per = []
        for linear, width in ((attention, layout.head_width), (mlp, layout.block)):
            entry = stats[linear]
            rms = (entry["sq"] / entry["n"]).sqrt()
            channel = (linear.weight.detach().double().abs() * rms[None, :]).mean(0)
            per.append(_per_unit(channel, width))
        scores.append(torch.cat(per))
    return torch.cat(scores).cpu()


def _standardize(x: torch.Tensor) -> torch.Tensor:
    return (x - x.mean()) / x.std()


def flap_scores(model: nn.Module, layout: UnitLayout, arch: Architecture, stats: dict) -> torch.Tensor:
    """FLAP's standardized WIFV score per unit (higher = keep), comparable across layers and kinds."""
    scores = []
    for attention, mlp in _projections(model, arch):
        per = []
        for linear, width, power in ((attention, layout.head_width, 2), (mlp, layout.block, 1)):
            entry = stats[linear]
            n = entry["n"]
            mean = entry["sum"] / n
            variance = (entry["sq"] - n * mean * mean) / max(n - 1, 1)  # sample variance, as BiasGPT
            metric = (variance * linear.weight.detach().double().pow(2).sum(0)) ** power
            per.append(_per_unit(_standardize(metric), width))
        scores.append(torch.cat(per))
    return torch.cat(scores).cpu()


def bias_compensation(model: nn.Module, layout: UnitLayout, arch: Architecture, stats: dict,
                      keep: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per layer, the (attention, MLP) output-bias increments ``W[:, removed] @ mean(x[removed])``."""
    heads, blocks = layout.split(keep.bool())
    out = []
    for index, (attention, mlp) in enumerate(_projections(model, arch)):
        pair = []
        for linear, alive, width in ((attention, heads[index], layout.head_width), (mlp, blocks[index], layout.block)):
            removed = (~alive).repeat_interleave(width).to(linear.weight.device)
            mean = (stats[linear]["sum"] / stats[linear]["n"]).to(linear.weight.device)
            pair.append((linear.weight.detach().double()[:, removed] @ mean[removed]).float().cpu())
        out.append(tuple(pair))
    return out
