"""Bonsai (forward-pass-only structured pruning) and its one-shot baselines on transformer units.

Dery, Kolawole, Kagy, Smith, Neubig & Talwalkar, "Everybody Prune Now: Structured Pruning of LLMs
with only Forward Passes", arXiv 2402.05406, Section 3 (``ldery/Bonsai``). Each round:

1. a *prior* importance per unit from forward statistics (Wanda-style ``|W| * ||x||``); the alive
   units of lowest prior worth twice the round's fraction are the round's candidates, the others
   stay (``run_data_to_sampling_proba`` in the official code keeps the top ``1 - 2 * pfrac``);
2. ``n_masks`` sub-models: half of them switch off a random set of candidates worth
   ``round_fraction`` of the prunable parameters, drawn with probability ``max(prior) - prior``
   (biased towards low-prior units), and each is followed by its *complementary* mask, which
   switches off the other candidates instead (``set_masks(use_complement=True)``);
3. each sub-model is *scored with forward passes only* by the target's quality (embedding fidelity
   for the encoder, minus the mean token negative log-likelihood for the decoder);
4. a sparse linear regression from the candidates' 0/1 keep-vector to the score, its L1 strength
   chosen from ``{1e-2, 1e-4, 0}`` by 5-fold cross-validated Kendall tau, gives each candidate's
   importance;
5. the least important candidates (per parameter) worth ``round_fraction`` are removed,

until the target sparsity.

Baselines (one-shot, global, by importance per parameter, at least one head and one block left in
every layer): ``random``; ``magnitude`` (mean |w| of the unit's weights); ``wanda`` (mean of
|w_ij| * ||x_j||_2 over the unit's weights, activation norms from the calibration sentences, Sun
et al., ICLR 2024); ``taylor``, which needs backpropagation: the first-order Taylor estimate of
the change of the target's objectives when a unit is removed, sqrt(E[(d o / d g_u)^2]) over the
objectives ``o`` the target yields (:meth:`~methods.pruning.units.Target.objectives`) and the
gradients of the unit gates ``g_u``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from methods.core.errors import ConfigError

from .units import Target, UnitLayout, activation_norms, sparsity, weight_scores

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


def one_shot_scores(method: str, target: Target, generator: torch.Generator, probes: int = 8) -> torch.Tensor:
    """Importance per parameter of every unit for a one-shot baseline (higher = keep)."""
    layout = target.layout
    if method == "random":
        return torch.rand(layout.units, generator=generator, dtype=torch.float64)
    if method == "magnitude":
        return weight_scores(target.model, layout, target.arch, None)
    if method == "wanda":
        norms = activation_norms(target.model, target.arch, target.batches())
        return weight_scores(target.model, layout, target.arch, norms)
    if method == "taylor":
        return taylor_scores(target, probes, generator)
    raise ConfigError("method", method, f"one of {list(METHODS)}")


@dataclass(frozen=True)
class BonsaiConfig:
    n_masks: int = 200
    round_fraction: float = 0.05
    alphas: tuple[float, ...] = (1e-2, 1e-4, 0.0)
    folds: int = 5


def _candidates(keep: torch.Tensor, prior: torch.Tensor, layout: UnitLayout, fraction: float) -> torch.Tensor:
    """The alive units of lowest prior (per parameter) worth ``2 * fraction`` of the prunable parameters."""
    alive = torch.nonzero(keep).flatten()
    params = layout.unit_params()
    order = alive[prior[alive].argsort()]
    within = torch.cumsum(params[order], 0) <= 2 * fraction * float(params.sum()) + float(params[order[0]])
    return order[within]


def _sample_pair(keep: torch.Tensor, candidates: torch.Tensor, prior: torch.Tensor, layout: UnitLayout,
                 fraction: float, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A mask switching off candidates worth ``fraction`` (low prior more likely) and its complement."""
    z = prior[candidates].numpy()
    weights = z.max() - z + 1e-12
    order = candidates.numpy()[rng.choice(len(candidates), size=len(candidates), replace=False,
                                          p=weights / weights.sum())]
    params = layout.unit_params().numpy()
    budget, removed = fraction * params.sum(), 0.0
    dropped = []
    for i in order:
        if removed >= budget:
            break
        dropped.append(i)
        removed += params[i]
    mask, complement = keep.clone(), keep.clone()
    mask[dropped] = 0
    complement[candidates] = 0
    complement[dropped] = 1
    return mask, complement


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


def bonsai(target: Target, targets: tuple[float, ...], config: BonsaiConfig, seed: int,
           log=None) -> dict[float, torch.Tensor]:
    """Bonsai's iterative loop; returns the keep-vector at every sparsity in ``targets``."""
    layout = target.layout
    targets = tuple(sorted(check_sparsity(t) for t in targets))
    rng = np.random.default_rng(seed)
    keep = torch.ones(layout.units)
    results: dict[float, torch.Tensor] = {}
    for goal in targets:
        while sparsity(keep, layout) < goal - 1e-3:
            target.gates.set(keep)
            prior = one_shot_scores("wanda", target, torch.Generator())
            step = min(config.round_fraction, goal - sparsity(keep, layout))
            candidates = _candidates(keep, prior, layout, step)
            masks, scores = [], []
            for _ in range((config.n_masks + 1) // 2):
                for mask in _sample_pair(keep, candidates, prior, layout, step, rng):
                    target.gates.set(mask)
                    masks.append(mask[candidates])
                    scores.append(target.quality())
            coef, alpha = regress_importance(torch.stack(masks).numpy(), np.array(scores), config.alphas,
                                             config.folds, seed)
            importance = torch.full((layout.units,), float("inf"), dtype=torch.float64)
            importance[candidates] = torch.from_numpy(coef).double() / layout.unit_params()[candidates]
            before = sparsity(keep, layout)
            eligible = torch.zeros(layout.units, dtype=torch.bool)
            eligible[candidates] = True
            keep = select(importance, keep, layout, before + step, eligible=eligible)
            if log:
                log.info("bonsai round: sparsity %.3f -> %.3f (alpha %g, %d candidates, %d sub-models)", before,
                         sparsity(keep, layout), alpha, len(candidates), len(masks))
            if sparsity(keep, layout) <= before + 1e-9:
                break
        results[goal] = keep.clone()
    target.gates.set(torch.ones(layout.units))
    return results
