"""SAMUEL's expert combiner (Lu, Xia, Arora & Hazan, "Adaptive Gradient Methods with Local
Guarantees", arXiv 2203.01400): multiplicative weights over k experts, each an optimizer with its
own learning rate and its own copy of the model.

The update follows the reference implementation, google/init2winit at commit 40e33ef,
``init2winit/optimizer_lib/samuel.py`` (read, not copied): the expert weights are a matrix whose
rows are the multiplicative-weights rates eta_mw and whose columns are the experts, initialised to
eta_mw in every column (:func:`initial_weights`); the current expert is drawn with probability
proportional to the column sums (:func:`expert_probabilities`), and every weight is multiplied by
exp(eta_mw (loss_current - loss_i)) (:func:`mw_update`, the paper's Algorithm 2 hedging step).
Several eta_mw rows adapt to an unknown loss scale (the paper's Section 4, the "set of learning
rates" of the experts algorithm).

The paper's practical version (Section 6) compares the experts once per hedging round and
synchronises every copy to the sampled expert's parameters; :class:`Hedge` keeps that state.
"""

from __future__ import annotations

import numpy as np


def initial_weights(mw_etas: np.ndarray, k: int) -> np.ndarray:
    """w[m, i] = eta_mw[m] for every expert i (``jnp.repeat(mw_etas, k, axis=1)``)."""
    return np.repeat(np.asarray(mw_etas, dtype=np.float64).reshape(-1, 1), k, axis=1)


def expert_probabilities(weights: np.ndarray) -> np.ndarray:
    """P(expert i) = sum_m w[m, i] / sum w."""
    return weights.sum(axis=0) / weights.sum()


def mw_update(weights: np.ndarray, mw_etas: np.ndarray, losses: np.ndarray, current: int) -> np.ndarray:
    """w[m, i] <- w[m, i] exp(eta_mw[m] (loss[current] - loss[i])): experts with a lower loss than
    the current one gain weight."""
    regret = losses[current] - np.asarray(losses, dtype=np.float64)
    return weights * np.exp(np.asarray(mw_etas, dtype=np.float64).reshape(-1, 1) * regret[None, :])


class Hedge:
    """The combiner's state over a run: weights, the current expert, a seeded generator."""

    def __init__(self, mw_etas, k: int, seed: int):
        self.mw_etas = np.asarray(mw_etas, dtype=np.float64)
        self.weights = initial_weights(self.mw_etas, k)
        self.rng = np.random.default_rng(seed)
        self.current = 0

    def round(self, losses: np.ndarray) -> int:
        """One hedging round: draw the current expert from the weights, then update the weights
        with the round's losses (the reference's order). Returns the expert every copy syncs to.
        The weights are rescaled by their sum after the update, which leaves every probability
        unchanged and keeps the exponentials finite over long runs."""
        self.current = int(self.rng.choice(len(losses), p=expert_probabilities(self.weights)))
        self.weights = mw_update(self.weights, self.mw_etas, np.asarray(losses), self.current)
        self.weights /= self.weights.sum()
        return self.current
