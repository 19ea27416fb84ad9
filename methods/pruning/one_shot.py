"""One-shot structured baselines of the Bonsai tables: each scores every unit once and removes the
lowest-scoring units until the target sparsity (fraction of the prunable parameters).

* ``random`` and ``magnitude`` (mean |w| over the unit's weights): global ranking, by score per
  parameter.
* ``wanda`` - Wanda-sp, the structured Wanda of An et al. (FLAP, AAAI 2024, Section 5, baselines;
  ``CASIA-IVA-Lab/FLAP`` @ 3bb57db3449dd2fa04a5c2192de80e87e33be2b1 ``lib/prune.py``
  ``prune_wanda_sp``): the score ``|W| * ||x||`` of the output projection's input channels,
  averaged over the output rows and taken per head (neuron block), and the same units removed from
  every layer (:func:`select_per_module`).
* ``flap`` - FLAP (An et al., AAAI 2024, Section 4): the standardized fluctuation score ranked
  across all layers and both kinds of units (adaptive structure ``AL-AM``, units weighted by their
  parameters), then the baseline bias compensation of the removed channels (Eq. 8).
* ``taylor`` - needs backpropagation: the first-order Taylor estimate sqrt(E[(d o / d g_u)^2]) of
  the change of the target's objectives when a unit is removed, per parameter.

Every selection keeps at least one head and one neuron block per layer (the pruned model must
keep every layer's shape valid).
"""

from __future__ import annotations

import torch

from methods.core.errors import ConfigError

from .priors import bias_compensation, flap_scores, output_statistics, wanda_prior
from .units import Target, UnitLayout, sparsity, weight_scores

ONE_SHOT = ("random", "magnitude", "wanda", "flap", "taylor")


def check_sparsity(value: float) -> float:
    if not 0 <= value < 1:
        raise ConfigError("sparsity", value, "a fraction in [0, 1)")
    return float(value)


def _module_of(layout: UnitLayout) -> torch.Tensor:
    """Module index of every unit: ``2 * layer`` for heads, ``2 * layer + 1`` for neuron blocks."""
    return 2 * layout.layer_of() + (~layout.is_head()).long()


def select(scores: torch.Tensor, keep: torch.Tensor, layout: UnitLayout, target: float) -> torch.Tensor:
    """Switch off the alive units with the lowest ``scores`` until ``target`` sparsity.

    Units that would overshoot the target by more than half their parameters are skipped; every
    module keeps at least one unit. Returns the new 0/1 keep-vector.
    """
    keep = keep.clone()
    params = layout.unit_params()
    total = float(params.sum())
    removed = total * sparsity(keep, layout)
    budget = total * check_sparsity(target)
    module = _module_of(layout)
    alive = torch.bincount(module[keep.bool()], minlength=2 * layout.layers)
    candidates = torch.nonzero(keep).flatten()
    for i in candidates[scores[candidates].argsort()].tolist():
        if removed >= budget:
            break
        if removed + float(params[i]) > budget + 0.5 * float(params[i]) or alive[module[i]] <= 1:
            continue
        keep[i] = 0
        removed += float(params[i])
        alive[module[i]] -= 1
    return keep


def select_per_module(scores: torch.Tensor, layout: UnitLayout, target: float) -> torch.Tensor:
    """Wanda-sp's layer-uniform rule: in every layer the ``int(target * heads)`` heads of lowest
    score (``prune_wanda_sp``), then the neuron blocks of lowest score whose number brings the
    layer nearest ``target`` of its prunable parameters (so that every method is compared at the
    same sparsity; ``prune_wanda_sp`` takes ``int(target * neurons)``, which with few, large heads
    misses the target). At least one head and one block stay."""
    keep = torch.ones(layout.units)
    goal = check_sparsity(target) * (layout.heads * layout.head_params + layout.blocks * layout.block_params)
    heads = min(int(target * layout.heads), layout.heads - 1)
    blocks = min(max(int(round((goal - heads * layout.head_params) / layout.block_params)), 0), layout.blocks - 1)
    module = _module_of(layout)
    for m in range(2 * layout.layers):
        members = torch.nonzero(module == m).flatten()
        count = heads if m % 2 == 0 else blocks
        keep[members[scores[members].argsort()[:count]]] = 0
    return keep


def taylor_scores(target: Target, probes: int, generator: torch.Generator) -> torch.Tensor:
    """sqrt(E[(d o / d g_u)^2]) per parameter of each unit, with full backpropagation (the weights
    keep ``requires_grad``, so the memory is that of a gradient-based pruning method)."""
    layout = target.layout
    total = torch.zeros(layout.units, dtype=torch.float64)
    count = 0
    gate = torch.ones(layout.units, requires_grad=True)
    target.gates.values = gate
    try:
        for objective in target.objectives(probes, generator):
            objective.backward()
            total += gate.grad.double() ** 2
            count += 1
            gate.grad = None
            target.model.zero_grad(set_to_none=True)
    finally:
        target.gates.set(torch.ones(layout.units))
    return (total / max(count, 1)).sqrt() / layout.unit_params()


def one_shot(method: str, target: Target, targets: tuple[float, ...], generator: torch.Generator,
             probes: int = 8) -> tuple[dict[float, torch.Tensor], dict[float, list]]:
    """The keep-vector of ``method`` at every sparsity of ``targets``, and FLAP's bias increments
    per sparsity (empty for the other methods)."""
    layout = target.layout
    ones = torch.ones(layout.units)
    biases: dict[float, list] = {}
    if method in ("wanda", "flap"):
        target.gates.set(ones)
        stats = output_statistics(target.model, target.arch, target.batches())
        if method == "wanda":
            prior = wanda_prior(target.model, layout, target.arch, stats)
            return {t: select_per_module(prior, layout, t) for t in targets}, biases
        scores = flap_scores(target.model, layout, target.arch, stats)
        keeps = {t: select(scores, ones, layout, t) for t in targets}
        biases = {t: bias_compensation(target.model, layout, target.arch, stats, k) for t, k in keeps.items()}
        return keeps, biases
    if method == "random":
        scores = torch.rand(layout.units, generator=generator, dtype=torch.float64)
    elif method == "magnitude":
        scores = weight_scores(target.model, layout, target.arch)
    elif method == "taylor":
        scores = taylor_scores(target, probes, generator)
    else:
        raise ConfigError("method", method, f"one of {list(ONE_SHOT)}")
    return {t: select(scores, ones, layout, t) for t in targets}, biases
