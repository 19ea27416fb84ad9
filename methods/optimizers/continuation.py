"""NPACS: natural-parameter adaptive continuation with a secant predictor (Pathak & Paffenroth,
"Parameter Continuation Methods for the Optimization of Deep Neural Networks", ICMLA 2019).

Each step follows the paper's Section III and its code, harsh306/NPACS at commit 23cc4a9
(``ops2.py``: ``c_sigmoid``/``c_relu``/``c_tanh``, ``get_v_n``, ``etlinear2``, ``adaptive_lambda``;
``npcs.py``: the corrector/predictor loop; ``example.json``: the constants), read, not copied:

* :func:`homotopy_activation`: sigma_lambda(v) = (1 - lambda) v + lambda act(v); lambda = 0 is a
  linear network, lambda = 1 the original one.
* :func:`pca_weights`: at lambda = 0 a deep autoencoder is linear and its optimum is PCA; the code
  initialises encoder layer k with the top right-singular vectors of the previous layer's
  projection of the data (cascaded SVDs, ``get_v_n``) and each decoder layer with the transpose.
* :func:`secant_predict`: theta_pred = theta_i + (dlambda_i / dlambda_{i-1}) (theta_i - theta_{i-1}).
* :func:`adaptive_step`: grow dlambda by 1.5 (capped) when the mean gradient norm of the last
  window fell by more than ``strict`` against the window before, halve it (floored) when it rose
  by ``strict`` or more, and halve it again when any gradient norm of the window reached 0.25.
* :func:`grad_norm`: the norm those rules read, ``tf.global_norm`` of the gradients of the
  minibatch loss (``ae.py`` ``master_graph``): the square root of the sum of squares over every
  parameter's gradient, of a loss that is a *mean* (``tf.reduce_mean`` over batch and pixels for
  the autoencoder), so it does not grow with the batch size or the number of pixels.

The schedule (``npcs.py`` ``main``): one budget of ``max_steps`` Adam steps; every ``u_freq`` steps
while lambda < 1 a predictor step (the first one natural, then secant) moves lambda by dlambda,
clipped to 1 (``ae.py`` ``update_l``); once lambda = 1 the predictor stops and the same Adam keeps
training the original network for the rest of the budget. A budget that ends before lambda = 1
just stops there (no extra phase). The 0.25 ceiling is an absolute number in the units of the
code's mean-squared-error losses (its autoencoders and its parity MLP, ``mlp.py``); the code has
no cross-entropy network, so on a classifier the ceiling has no counterpart in the code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACTIVATIONS = ("sigmoid", "tanh", "relu")


def homotopy_activation(v, lam: float, act: str):
    """sigma_lambda(v) = (1 - lambda) v + lambda act(v) (``ops2.c_sigmoid`` and siblings)."""
    import torch

    fn = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[act]
    return (1.0 - lam) * v + lam * fn(v)


def pca_weights(x: np.ndarray, widths: tuple[int, ...]) -> list[np.ndarray]:
    """Cascaded-SVD weights (in x out) of encoder layers x -> widths[0] -> ... -> widths[-1]
    (``ops2.get_v_n``): layer k's columns are the top right-singular vectors of the data projected
    by layers 1..k-1. The decoder uses their transposes in reverse order."""
    weights, projected = [], np.asarray(x, dtype=np.float64)
    for width in widths:
        if min(projected.shape) < width:
            raise ValueError(f"PCA initialisation: {min(projected.shape)} singular vectors for a layer of {width}")
        # the right singular vectors of X are the eigenvectors of X^T X, by decreasing eigenvalue
        # (the same vectors as the code's np.linalg.svd, up to sign, at d x d cost)
        values, vectors = np.linalg.eigh(projected.T @ projected)
        w = vectors[:, np.argsort(values)[::-1][:width]]
        weights.append(w.astype(np.float32))
        projected = projected @ w
    return weights


def grad_norm(parameters) -> float:
    """sqrt(sum over parameters of sum of squared gradient entries) (``tf.global_norm``)"""
    import torch

    return float(torch.sqrt(sum((p.grad.double() ** 2).sum() for p in parameters if p.grad is not None)))


def secant_predict(theta: np.ndarray, theta_prev: np.ndarray, step: float, step_prev: float) -> np.ndarray:
    """Secant predictor theta_i + (dlambda_i / dlambda_{i-1}) (theta_i - theta_{i-1}) (``ops2.secant_l``)."""
    return theta + (step / step_prev) * (theta - theta_prev)


@dataclass(frozen=True)
class StepRule:
    """The adaptive dlambda rule's constants (``example.json``: norm_strict 0.05, delta_l_max 0.02,
    delta_l_min 0.0008; the 0.25 gradient-norm ceiling is written in ``adaptive_lambda``)."""

    strict: float = 0.05
    step_max: float = 0.02
    step_min: float = 0.0008
    norm_ceiling: float = 0.25


def adaptive_step(step: float, norms: list[float], window: int, rule: StepRule = StepRule()) -> float:
    """The next dlambda from the gradient norms of the last two windows (``ops2.adaptive_lambda``).

    As in the code, the floor applies to the halving on a rising norm, not to the extra halving on
    a norm above the ceiling."""
    if len(norms) < 2 * window:
        return step
    previous = float(np.mean(norms[-2 * window:-window])) or 1.0
    change = (float(np.mean(norms[-window:])) - previous) / previous
    if change < -rule.strict:
        step = min(step * 1.5, rule.step_max)
    elif change >= rule.strict:
        step = max(step / 2, rule.step_min)
    if max(norms[-window:]) >= rule.norm_ceiling:
        step = step / 2
    return step
