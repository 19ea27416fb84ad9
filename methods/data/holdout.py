"""The canonical train/test split of a dataset that ships without one (digits, iris, ...).

A stratified 80/20 split whose seed depends on the dataset's name only, so every study, method and
seed scores on the same test rows. ``prepare`` stores it in the dataset's npz (``train_index``,
``test_index``): computing it means importing scikit-learn, which costs a job 1.1 s of its start-up
(more than the whole training of a smoke run), and every job on the dataset would pay it again.
"""

from __future__ import annotations

import numpy as np

from methods.core.seeding import derive_seed

TEST_FRACTION = 0.2


def holdout_indices(y: np.ndarray, dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """``(train_index, test_index)``: scikit-learn's stratified ``train_test_split`` of the rows."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(np.arange(len(y)), test_size=TEST_FRACTION, stratify=y,
                                   random_state=derive_seed(dataset, "split"))
    return train, test


def holdout_split(arrays, dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """The stored split of a prepared dataset; computed here for files prepared before it was stored."""
    if "train_index" in arrays:
        return arrays["train_index"], arrays["test_index"]
    return holdout_indices(arrays["y"], dataset)
