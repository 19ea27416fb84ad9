"""Bonsai (forward-pass-only structured pruning) and its one-shot baselines on encoder units.

Dery, Kolawole, Kagy, Smith, Neubig & Talwalkar, "Everybody Prune Now: Structured Pruning of LLMs
with only Forward Passes", arXiv 2402.05406, Section 3 (``ldery/Bonsai``). Each round:

1. a *prior* importance per unit from forward statistics (Wanda-style ``|W| * ||x||``);
2. ``n_masks`` sub-models, each switching off a random set of alive units worth ``round_fraction``
   of the prunable parameters, drawn with probabilities biased towards low-prior units;
3. each sub-model is *scored with forward passes only* (here: mean cosine similarity of its
   sentence embeddings to the dense model's on the calibration sentences);
4. a sparse linear regression from the 0/1 keep-vector to the score, its L1 strength chosen from
   ``{1e-2, 1e-4, 0}`` by 5-fold cross-validated Kendall tau, gives each unit's importance;
5. the least important units (per parameter) worth ``round_fraction`` are removed,

until the target sparsity. Units never switched off in a round's samples are not removed in that
round. Deviation: Bonsai adds complementary masks; this implementation does not.

Baselines (one-shot, global, by importance per parameter, at least one head and one block left in
every layer): ``random``; ``magnitude`` (mean |w| of the unit's weights); ``wanda`` (mean of
|w_ij| * ||x_j||_2 over the unit's weights, activation norms from the calibration sentences, Sun
et al., ICLR 2024); ``taylor``, which needs backpropagation: the first-order Taylor estimate of
the embedding change when a unit is removed, E||d e / d g_u||^2, estimated with random projections
``r . e`` (E_r[(r . J)^2] = ||J||^2) and the gradients of the unit gates ``g_u``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from methods.core.errors import ConfigError

from .encoder_units import UnitGates, UnitLayout, embed, encoder_layers, sparsity

METHODS = ("random", "magnitude", "wanda", "taylor", "bonsai")


def check_sparsity(value: float) -> float:
    if not 0 <= value < 1:
        raise ConfigError("sparsity", value, "a fraction in [0, 1)")
    return float(value)


def select(scores: torch.Tensor, keep: torch.Tensor, layout: UnitLayout, target: float,
           eligible: torch.Tensor | None = None) -> torch.Tensor:
    """Switch off the alive units with the lowest ``scores`` until ``target`` sparsity.

    Units that would overshoot the target are skipped; every layer keeps at least one head and
    one neuron block. Returns the new 0/1 keep-vector.
    """
    keep = keep.clone()
    params = layout.unit_params()
    total = float(params.sum())
    removed = total * sparsity(keep, layout)
    budget = total * check_sparsity(target)
    layer, is_head = layout.layer_of(), layout.is_head()
    alive = {(int(l), bool(h)): 0 for l, h in zip(layer, is_head)}
    for i in torch.nonzero(keep).flatten().tolist():
        alive[(int(layer[i]), bool(is_head[i]))] += 1
    candidates = torch.nonzero(keep.bool() if eligible is None else keep.bool() & eligible).flatten()
    for i in candidates[scores[candidates].argsort()].tolist():
        if removed >= budget:
            break
        kind = (int(layer[i]), bool(is_head[i]))
        if removed + float(params[i]) > budget + 0.5 * float(params[i]) or alive[kind] <= 1:
            continue
        keep[i] = 0
        removed += float(params[i])
        alive[kind] -= 1
    return keep


def _unit_weight_stats(model: nn.Module, layout: UnitLayout, input_norms: dict | None) -> torch.Tensor:
    """Mean over each unit's weights of |w| (``input_norms`` None) or |w_ij| * ||x_j||."""
    scores = []
    for index, layer in enumerate(encoder_layers(model)):
        attention = layer.attention.self
        def weighted(linear, key):
            w = linear.weight.detach().abs()
            return w * input_norms[(index, key)][None, :] if input_norms is not None else w
        qkv = sum(weighted(getattr(attention, n), "hidden").sum(1) for n in ("query", "key", "value"))
        out = weighted(layer.attention.output.dense, "context").sum(0)
        head = (qkv + out).reshape(layout.heads, layout.head_dim).sum(1)
        inner = weighted(layer.intermediate.dense, "hidden").sum(1) + weighted(layer.output.dense, "inner").sum(0)
        block = inner.reshape(layout.blocks, layout.block).sum(1)
        head_weights = 4 * attention.query.in_features * layout.head_dim
        block_weights = 2 * attention.query.in_features * layout.block
        scores.append(torch.cat([head / head_weights, block / block_weights]))
    return torch.cat(scores).double()


def activation_norms(model: nn.Module, batch: dict) -> dict:
    """L2 norms over calibration tokens of every prunable Linear's input features (Wanda's ||x_j||)."""
    norms: dict = {}
    mask = batch["attention_mask"].bool()
    handles = []
    for index, layer in enumerate(encoder_layers(model)):
        for module, key in ((layer.attention.self.query, "hidden"), (layer.attention.output.dense, "context"),
                            (layer.output.dense, "inner")):
            def hook(mod, inputs, output, key=(index, key)):
                norms[key] = inputs[0][mask].norm(dim=0)
            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            embed(model, batch)
    finally:
        for handle in handles:
            handle.remove()
    return norms


def taylor_scores(model: nn.Module, gates: UnitGates, batch: dict, probes: int,
                  generator: torch.Generator) -> torch.Tensor:
    """E_r[(d (r . e) / d g_u)^2] per unit with full backpropagation (weights keep requires_grad)."""
    total = torch.zeros(gates.layout.units, dtype=torch.float64)
    for _ in range(probes):
        gate = torch.ones(gates.layout.units, requires_grad=True)
        gates.values = gate
        emb = embed(model, batch)
        direction = torch.randn(emb.shape, generator=generator)
        (emb * direction).sum().backward()
        total += gate.grad.double() ** 2
        model.zero_grad(set_to_none=True)
    gates.set(torch.ones(gates.layout.units))
    return (total / probes).sqrt() / gates.layout.unit_params()


def one_shot_scores(method: str, model: nn.Module, gates: UnitGates, batch: dict, generator: torch.Generator,
                    probes: int = 8) -> torch.Tensor:
    """Importance per parameter of every unit for a one-shot baseline (higher = keep)."""
    layout = gates.layout
    if method == "random":
        return torch.rand(layout.units, generator=generator, dtype=torch.float64)
    if method == "magnitude":
        return _unit_weight_stats(model, layout, None)
    if method == "wanda":
        return _unit_weight_stats(model, layout, activation_norms(model, batch))
    if method == "taylor":
        return taylor_scores(model, gates, batch, probes, generator)
    raise ConfigError("method", method, f"one of {list(METHODS)}")


@dataclass(frozen=True)
class BonsaiConfig:
    n_masks: int = 200
    round_fraction: float = 0.05
    alphas: tuple[float, ...] = (1e-2, 1e-4, 0.0)
    folds: int = 5


def _sample_mask(keep: torch.Tensor, prior: torch.Tensor, layout: UnitLayout, fraction: float,
                 rng: np.random.Generator) -> torch.Tensor:
    """Switch off alive units worth ``fraction`` of the prunable parameters, low prior more likely."""
    alive = torch.nonzero(keep).flatten().numpy()
    z = prior[alive].numpy()
    z = (z - z.mean()) / (z.std() + 1e-12)
    weights = np.exp(-z)
    order = rng.choice(alive, size=len(alive), replace=False, p=weights / weights.sum())
    params = layout.unit_params().numpy()
    budget, removed, mask = fraction * params.sum(), 0.0, keep.clone()
    for i in order:
        if removed >= budget:
            break
        mask[i] = 0
        removed += params[i]
    return mask


def _kendall_cv(x: np.ndarray, y: np.ndarray, alpha: float, folds: int, seed: int) -> float:
    from scipy.stats import kendalltau
    from sklearn.model_selection import KFold

    taus = []
    for train, test in KFold(folds, shuffle=True, random_state=seed).split(x):
        predicted = _fit(x[train], y[train], alpha).predict(x[test])
        tau = kendalltau(predicted, y[test]).statistic
        taus.append(0.0 if np.isnan(tau) else tau)
    return float(np.mean(taus))


def _fit(x: np.ndarray, y: np.ndarray, alpha: float):
    from sklearn.linear_model import Lasso, LinearRegression

    model = Lasso(alpha=alpha, max_iter=500, tol=1e-3) if alpha > 0 else LinearRegression()
    return model.fit(x, y)


def regress_importance(masks: np.ndarray, scores: np.ndarray, alphas, folds: int,
                       seed: int) -> tuple[np.ndarray, float]:
    """Coefficients of score ~ keep-vector (the unit importances), L1 strength by CV Kendall tau."""
    y = (scores - scores.mean()) / (scores.std() + 1e-12)
    best = max(alphas, key=lambda a: _kendall_cv(masks, y, a, folds, seed))
    return _fit(masks, y, best).coef_, best


def bonsai(model: nn.Module, gates: UnitGates, batch: dict, targets: tuple[float, ...], config: BonsaiConfig,
           seed: int, log=None) -> dict[float, torch.Tensor]:
    """Bonsai's iterative loop; returns the keep-vector at every sparsity in ``targets``."""
    layout = gates.layout
    targets = tuple(sorted(check_sparsity(t) for t in targets))
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        dense = embed(model, batch)
    keep = torch.ones(layout.units)
    results: dict[float, torch.Tensor] = {}
    for target in targets:
        while sparsity(keep, layout) < target - 1e-3:
            gates.set(keep)
            prior = one_shot_scores("wanda", model, gates, batch, torch.Generator())
            step = min(config.round_fraction, target - sparsity(keep, layout))
            masks = [_sample_mask(keep, prior, layout, step, rng) for _ in range(config.n_masks)]
            scores = []
            with torch.no_grad():
                for mask in masks:
                    gates.set(mask)
                    scores.append(float((embed(model, batch) * dense).sum(-1).mean()))
            observed = torch.stack(masks).bool()
            varied = (keep.bool() & ~observed.all(0))
            columns = torch.nonzero(varied).flatten()
            coef, alpha = regress_importance(torch.stack(masks)[:, columns].numpy(), np.array(scores),
                                             config.alphas, config.folds, seed)
            importance = torch.full((layout.units,), float("inf"), dtype=torch.float64)
            importance[columns] = torch.from_numpy(coef).double() / layout.unit_params()[columns]
            before = sparsity(keep, layout)
            keep = select(importance, keep, layout, before + step, eligible=varied)
            if log:
                log.info("bonsai round: sparsity %.3f -> %.3f (alpha %g, %d units varied)", before,
                         sparsity(keep, layout), alpha, len(columns))
            if sparsity(keep, layout) <= before + 1e-9:
                break
        results[target] = keep.clone()
    gates.set(torch.ones(layout.units))
    return results
