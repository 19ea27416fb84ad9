"""The TDTransformer protocol split (``dataset_custom.py``, ``load_single_data``).

``train_test_split(X, y, test_size=0.2, random_state=seed, stratify=y, shuffle=True)``, then the
last ``int(0.1 * n)`` rows of the (already shuffled) train part become the validation set. The
repo runs seeds 1, 2, 3; run seed ``k`` here uses ``random_state = k + 1``, so seeds 0..2 are
exactly the repo's splits. Large tables can first be subsampled (stratified, the same rows for
every seed and method of a dataset) to keep CPU runs short.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from methods.core.errors import ConfigError
from methods.core.seeding import derive_seed


@dataclass(frozen=True)
class Split:
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def subsample_rows(y: np.ndarray, max_rows: int | None, dataset: str) -> np.ndarray:
    """Sorted indices of a stratified subset of ``max_rows`` rows (all rows if ``None`` or larger)."""
    n = len(y)
    if not max_rows or max_rows >= n:
        return np.arange(n)
    if max_rows < 20:
        raise ConfigError("max_rows", max_rows, "at least 20 rows (or null for all)")
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(np.arange(n), train_size=max_rows, stratify=y,
                               random_state=derive_seed(dataset, "subsample"))
    return np.sort(keep)


def protocol_split(y: np.ndarray, seed: int, test_size: float = 0.2, val_fraction: float = 0.1) -> Split:
    """Row indices of train / validation / test for run seed ``seed`` (repo seed ``seed + 1``)."""
    from sklearn.model_selection import train_test_split

    n = len(y)
    val_size = int(n * val_fraction)
    train, test = train_test_split(np.arange(n), test_size=test_size, random_state=seed + 1, stratify=y, shuffle=True)
    if val_size < 1 or val_size >= len(train):
        raise ConfigError("val_fraction", val_fraction, f"a fraction giving 1..{len(train) - 1} of {n} rows")
    return Split(train=train[:-val_size], val=train[-val_size:], test=test)
