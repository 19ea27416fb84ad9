"""Bonsai: forward-pass-only structured pruning by regression on sub-model scores.

Dery, Kolawole, Kagy, Smith, Neubig & Talwalkar, "Everybody Prune Now: Structured Pruning of LLMs
with only Forward Passes", arXiv 2402.05406, Section 3 (Algorithm 1); the official loop is
``investigate_score_based_mask`` in ``main.py`` and the regression ``lib/scoring_model.py`` of
``ldery/Bonsai`` @ 2f911d789e4e426e8b0850414bcdcadc9fb52ce4 (read, not copied). A *module* is one
layer's attention or one layer's MLP. Each round, with ``p`` = the round's prune fraction:

1. the calibration batch is redrawn (windows at seeded offsets of the calibration text; the
   official code draws a new seed per round for ``eval_ppl_trainonly``);
2. the *prior* of every live unit is Bonsai's Wanda score at its output projection
   (:func:`methods.pruning.priors.wanda_prior`), from a forward pass of the current model;
3. per module, the top ``int(n * (1 - 2p))`` of its ``n`` live units by prior are fixed (kept),
   the others are the module's candidates (``run_data_to_sampling_proba``);
4. ``n_masks / 2`` sub-models each switch off, in every module, ``int(p * n) + 1`` candidates
   drawn without replacement with probability ``max(prior of the module) - prior``
   (``get_random_mask``), and each is followed by its complement, which switches off the module's
   other candidates instead (``set_masks(use_complement=True)``); a pair shares its batch;
5. each sub-model is scored with forward passes only (:meth:`~methods.pruning.units.Target.quality`:
   minus the calibration perplexity for a decoder, as the official code; embedding fidelity for
   the encoder);
6. one linear model over all modules' candidates (``sm_lin_model_type="global"``), score ~ 0/1
   keep-vector, its L1 weight chosen from ``{1e2, 1e-4, 0}`` by the mean Kendall tau over 5
   contiguous folds (``split_train_test``), refitted on every sub-model; the targets are centred
   by their mean, not scaled;
7. the candidates are sorted by their *raw* coefficient and the lowest removed while the
   cumulative parameters stay within ``p`` of the prunable parameters (``keep_idxs =
   cum_sum_param_counts > threshold``);

until the target sparsity (within ``tolerance``); the last round's ``p`` shrinks to land on it, as
``main.py`` does.

Where this differs from the official code, and why: (a) the official linear model is fitted by
Adam for up to 50 epochs with early stopping on the fold's Kendall tau, over a grid of learning
rates {100, 10, 1, 0.1}/players and batch sizes {32, 64, 128}; here the same objective (mean
squared error + lambda * L1, i.e. scikit-learn's Lasso with ``alpha = lambda / 2``; least squares
for lambda = 0) is solved to convergence, which removes the optimiser grid (36 x 6 fits a round
would dominate the CPU budget) and its early stopping's implicit shrinkage; (b) every module keeps
at least one unit (the official code may drop a whole module; our removal needs a valid layer
shape); (c) the cut rounds to the nearest unit where the official one rounds down, so that each
target sparsity is reached without an extra round of sub-models for the remainder; (d) the prior
is computed on the round's windows, where the official code computes it on a fixed-seed
calibration pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .one_shot import _module_of, check_sparsity
from .priors import output_statistics, wanda_prior
from .units import Target, UnitLayout, sparsity

L1_GRID = (1e2, 1e-4, 0.0)  # main.py --sm_reg_weight


@dataclass(frozen=True)
class BonsaiConfig:
    n_masks: int = 200
    round_fraction: float = 0.05
    l1_grid: tuple[float, ...] = L1_GRID
    folds: int = 5
    tolerance: float = 0.005  # main.py --tol is 0.02 for one target; ours are 10 points apart


def candidates_per_module(keep: torch.Tensor, prior: torch.Tensor, layout: UnitLayout,
                          fraction: float) -> torch.Tensor:
    """Per module, the live units outside the top ``int(n_live * (1 - 2 * fraction))`` by prior
    (sorted ascending by unit index)."""
    module = _module_of(layout)
    chosen = []
    for m in range(2 * layout.layers):
        live = torch.nonzero((module == m) & keep.bool()).flatten()
        fixed = int(len(live) * (1.0 - 2 * fraction))
        order = live[prior[live].argsort(descending=True, stable=True)]
        chosen.append(order[fixed:])
    return torch.cat(chosen).sort().values


def sample_pair(keep: torch.Tensor, candidates: torch.Tensor, prior: torch.Tensor, layout: UnitLayout,
                fraction: float, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A sub-model dropping ``int(fraction * n_live) + 1`` candidates of every module (probability
    ``max(prior) - prior`` over the module's live units) and its complement within the candidates."""
    module = _module_of(layout)
    mask, complement = keep.clone(), keep.clone()
    complement[candidates] = 0
    for m in range(2 * layout.layers):
        live = (module == m) & keep.bool()
        pool = candidates[module[candidates] == m]
        if len(pool) == 0:
            continue
        count = min(int(fraction * int(live.sum())) + 1, len(pool))
        weights = (prior[live].max() - prior[pool]).numpy() + 1e-12  # the module's top unit may be a candidate
        dropped = pool.numpy()[rng.choice(len(pool), size=count, replace=False, p=weights / weights.sum())]
        mask[dropped] = 0
        complement[dropped] = 1
    return mask, complement


def _fit(x: np.ndarray, y: np.ndarray, l1: float):
    """Minimise mean((y - x w - b)^2) + l1 * |w|_1 (the official objective) to convergence."""
    from sklearn.linear_model import Lasso, LinearRegression

    if l1 > 0:
        return Lasso(alpha=l1 / 2, max_iter=5000, tol=1e-6).fit(x, y)
    return LinearRegression().fit(x, y)


def _fold_tau(x: np.ndarray, y: np.ndarray, l1: float, folds: int) -> float:
    """Mean Kendall tau over ``folds`` contiguous held-out blocks; NaN if a fold's tau is undefined
    (constant predictions), which then never wins, as in ``search_best_linear_fit``."""
    import warnings

    from scipy.stats import kendalltau

    size = len(y) // folds
    taus = []
    for k in range(folds):
        test = np.zeros(len(y), dtype=bool)
        test[k * size:(k + 1) * size] = True
        model = _fit(x[~test], y[~test] - y[~test].mean(), l1)
        with warnings.catch_warnings():  # a fold too small or constant gives NaN, handled by the caller
            warnings.simplefilter("ignore")
            taus.append(kendalltau(model.predict(x[test]), y[test]).statistic)
    return float(np.mean(taus))


def regress_importance(masks: np.ndarray, scores: np.ndarray, l1_grid=L1_GRID,
                       folds: int = 5) -> tuple[np.ndarray, float]:
    """Raw coefficients of score ~ keep-vector (centred scores), the L1 weight of best fold tau."""
    best, best_tau = l1_grid[-1], -np.inf
    for l1 in l1_grid:
        tau = _fold_tau(masks, scores, l1, folds)
        if tau > best_tau:  # NaN never wins
            best, best_tau = l1, tau
    return _fit(masks, scores - scores.mean(), best).coef_, best


def cut(keep: torch.Tensor, candidates: torch.Tensor, coef: np.ndarray, layout: UnitLayout,
        fraction: float) -> torch.Tensor:
    """Remove the candidates of lowest raw coefficient while their cumulative parameters stay
    within ``fraction`` of the prunable parameters (to the nearest unit: one is still removed if at
    most half of it passes the threshold); every module keeps one unit."""
    keep = keep.clone()
    params = layout.unit_params()
    threshold = fraction * float(params.sum())
    module = _module_of(layout)
    alive = torch.bincount(module[keep.bool()], minlength=2 * layout.layers)
    removed = 0.0
    for i in candidates[np.argsort(coef, kind="stable")].tolist():
        if removed + 0.5 * float(params[i]) > threshold:
            break
        if alive[module[i]] <= 1:
            continue
        keep[i] = 0
        removed += float(params[i])
        alive[module[i]] -= 1
    return keep


def bonsai_round(target: Target, keep: torch.Tensor, fraction: float, config: BonsaiConfig,
                 rng: np.random.Generator) -> tuple[torch.Tensor, dict]:
    """One round of steps 1-7; returns the new keep-vector and what the round saw."""
    layout = target.layout
    target.redraw(int(rng.integers(2**31)))
    target.gates.set(keep)
    prior = wanda_prior(target.model, layout, target.arch, output_statistics(target.model, target.arch,
                                                                             target.batches()))
    candidates = candidates_per_module(keep, prior, layout, fraction)
    masks, scores = [], []
    for _ in range((config.n_masks + 1) // 2):
        for mask in sample_pair(keep, candidates, prior, layout, fraction, rng):
            target.gates.set(mask)
            masks.append(mask[candidates])
            scores.append(target.quality())
    coef, l1 = regress_importance(torch.stack(masks).numpy(), np.array(scores), config.l1_grid, config.folds)
    new = cut(keep, candidates, coef, layout, fraction)
    return new, {"l1": l1, "candidates": len(candidates), "sub_models": len(masks)}


def bonsai(target: Target, targets: tuple[float, ...], config: BonsaiConfig, seed: int,
           log=None) -> dict[float, torch.Tensor]:
    """Bonsai's iterative loop; returns the keep-vector at every sparsity in ``targets``."""
    layout = target.layout
    targets = tuple(sorted(check_sparsity(t) for t in targets))
    rng = np.random.default_rng(seed)
    keep = torch.ones(layout.units)
    results: dict[float, torch.Tensor] = {}
    for goal in targets:
        while sparsity(keep, layout) < goal - config.tolerance:
            before = sparsity(keep, layout)
            keep, seen = bonsai_round(target, keep, min(config.round_fraction, goal - before), config, rng)
            if log:
                log.info("bonsai round: sparsity %.3f -> %.3f (L1 %g, %d candidates, %d sub-models)", before,
                         sparsity(keep, layout), seen["l1"], seen["candidates"], seen["sub_models"])
            if sparsity(keep, layout) <= before + 1e-9:
                break
        results[goal] = keep.clone()
    target.gates.set(torch.ones(layout.units))
    return results
