"""Piece-wise linear encoding (PLE) of numerical values (TDT Sec. 3.2; Gorishniy et al. 2022).

For bin edges ``b_0 < b_1 < ... < b_T`` of a column, component ``k`` of the encoding of ``x`` is

    clip((2x - (b_{k-1} + b_k)) / (b_k - b_{k-1}), -1, 1),

i.e. -1 below bin ``k``, +1 above it and linear inside it (``tabtransformer/embed.py``,
``discrete_method = 'vectorize'``). Each column's vector is padded with -1 to ``max_bins``
components. Edges come from training-row quantiles (the repo's default, ``pd.qcut`` with
duplicates dropped) or from a target-aware decision tree (``DecisionTreeClassifier``,
``min_samples_leaf = 8``, at most ``max_bins`` leaves), fitted on the training rows only.
"""

from __future__ import annotations

import numpy as np

from methods.core.errors import ConfigError

BINNINGS = ("quantile", "tree")


def quantile_edges(x: np.ndarray, bins: int) -> np.ndarray:
    edges = np.unique(np.quantile(x, np.linspace(0.0, 1.0, bins + 1)))
    return edges if len(edges) >= 2 else np.array([edges[0] - 0.5, edges[0] + 0.5])


def tree_edges(x: np.ndarray, y: np.ndarray, bins: int, seed: int, min_samples_leaf: int = 8) -> np.ndarray:
    """Thresholds of a decision tree on one column, plus the column's min and max (TDT's C4.5-style bins)."""
    from sklearn.tree import DecisionTreeClassifier

    tree = DecisionTreeClassifier(max_leaf_nodes=max(bins, 2), min_samples_leaf=min_samples_leaf,
                                  random_state=seed).fit(x.reshape(-1, 1), y).tree_
    thresholds = tree.threshold[tree.children_left != tree.children_right]
    edges = np.unique(np.concatenate([thresholds, [x.min(), x.max()]]))
    return edges if len(edges) >= 2 else np.array([edges[0] - 0.5, edges[0] + 0.5])


def fit_edges(x_train: np.ndarray, y_train: np.ndarray, bins: int, binning: str, seed: int) -> list[np.ndarray]:
    """Edges for every column of ``x_train`` (rows x columns)."""
    if binning not in BINNINGS:
        raise ConfigError("ple_binning", binning, f"one of {BINNINGS}")
    if bins < 1:
        raise ConfigError("ple_bins", bins, "at least 1")
    if binning == "quantile":
        return [quantile_edges(x_train[:, j], bins) for j in range(x_train.shape[1])]
    return [tree_edges(x_train[:, j], y_train, bins, seed) for j in range(x_train.shape[1])]


def encode(x: np.ndarray, edges: list[np.ndarray], max_bins: int) -> np.ndarray:
    """PLE of ``x`` (rows x columns) -> (rows x columns x max_bins), float32, padded with -1."""
    out = np.full((x.shape[0], x.shape[1], max_bins), -1.0, dtype=np.float32)
    for j, b in enumerate(edges):
        k = len(b) - 1
        if k > max_bins:
            raise ConfigError("ple_bins", k, f"at most max_bins = {max_bins} bins per column")
        lo, hi = b[:-1], b[1:]
        out[:, j, :k] = np.clip((2 * x[:, j:j + 1] - (lo + hi)) / (hi - lo), -1.0, 1.0)
    return out
