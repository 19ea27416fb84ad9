"""Piece-wise linear encoding and the TDT protocol split."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from methods.core.errors import ConfigError
from methods.tabular_llm import ple
from methods.tabular_llm.splits import protocol_split, subsample_rows


def test_ple_formula_and_padding():
    edges = [np.array([0.0, 1.0, 2.0])]
    out = ple.encode(np.array([[0.5], [1.5], [-3.0], [9.0]]), edges, max_bins=4)
    assert out.shape == (4, 1, 4)
    np.testing.assert_allclose(out[0, 0], [0.0, -1.0, -1.0, -1.0])  # inside bin 1, below bin 2, padding
    np.testing.assert_allclose(out[1, 0], [1.0, 0.0, -1.0, -1.0])
    np.testing.assert_allclose(out[2, 0, :2], [-1.0, -1.0])
    np.testing.assert_allclose(out[3, 0, :2], [1.0, 1.0])
    with pytest.raises(ConfigError, match="max_bins"):
        ple.encode(np.zeros((1, 1)), [np.arange(6.0)], max_bins=4)


def test_bins_are_fitted_on_the_given_rows_only():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 1))
    y = (x[:, 0] > 0.3).astype(int)
    quantile = ple.fit_edges(x[:300], y[:300], 8, "quantile", 0)[0]
    assert quantile[0] == x[:300].min() and quantile[-1] == x[:300].max()
    tree = ple.fit_edges(x[:300], y[:300], 8, "tree", 0)[0]
    assert np.any(np.abs(tree - 0.3) < 0.1)  # the target-aware tree finds the class boundary
    shifted = x.copy()
    shifted[300:] += 100.0  # held-out rows must not move the edges
    np.testing.assert_array_equal(ple.fit_edges(shifted[:300], y[:300], 8, "tree", 0)[0], tree)
    with pytest.raises(ConfigError, match="ple_binning"):
        ple.fit_edges(x, y, 8, "kmeans", 0)


def test_protocol_split_is_the_repos():
    y = np.array([0] * 70 + [1] * 30)
    split = protocol_split(y, seed=0)
    train, test = train_test_split(np.arange(100), test_size=0.2, random_state=1, stratify=y, shuffle=True)
    np.testing.assert_array_equal(split.test, test)
    np.testing.assert_array_equal(split.val, train[-10:])  # the last 10% of all rows
    np.testing.assert_array_equal(split.train, train[:-10])
    assert y[split.test].sum() == 6  # stratified
    assert not set(protocol_split(y, 1).test.tolist()) == set(split.test.tolist())


def test_subsample_is_stratified_and_fixed():
    y = np.array([0] * 900 + [1] * 100)
    rows = subsample_rows(y, 200, "adult")
    assert len(rows) == 200 and y[rows].sum() == 20
    np.testing.assert_array_equal(rows, subsample_rows(y, 200, "adult"))
    assert len(subsample_rows(y, None, "adult")) == 1000
    with pytest.raises(ConfigError, match="max_rows"):
        subsample_rows(y, 5, "adult")


def test_quantile_edges_on_hand_computed_cases():
    """np.quantile's linear interpolation at position (n - 1) q: 0..8 in 4 bins gives 0, 2, 4, 6, 8;
    [0, 0, 0, 0, 1, 2] gives 0, 0, 0, 0.75, 2 (positions 0, 1.25, 2.5, 3.75, 5), repeated edges merged;
    a constant column gets one bin of width 1 around its value."""
    columns = np.array([[float(v), 0.0, 3.0] for v in range(9)])
    columns[:6, 1] = [0, 0, 0, 0, 1, 2]
    columns[6:, 1] = 2.0  # [0, 0, 0, 0, 1, 2, 2, 2, 2]: positions 0, 2, 4, 6, 8 -> 0, 0, 1, 2, 2
    edges = ple.fit_edges(columns, np.zeros(9), 4, "quantile", 0)
    np.testing.assert_allclose(edges[0], [0.0, 2.0, 4.0, 6.0, 8.0])
    np.testing.assert_allclose(edges[1], [0.0, 1.0, 2.0])
    np.testing.assert_allclose(edges[2], [2.5, 3.5])
    np.testing.assert_allclose(ple.quantile_edges(np.array([0.0, 0, 0, 0, 1, 2]), 4), [0.0, 0.75, 2.0])
    # 3.0 sits in bin 2 of column 0 (edges 2..4): bin 1 full (1), bin 2 halfway (0), bins 3-4 empty (-1)
    np.testing.assert_allclose(ple.encode(np.array([[3.0]]), edges[:1], 4)[0, 0], [1.0, 0.0, -1.0, -1.0])
