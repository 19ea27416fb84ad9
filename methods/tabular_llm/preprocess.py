"""Missing values and typed matrices, fitted on the training rows only.

TDTransformer fills missing numerical and categorical cells with the column's mode
(``cfg.DATASET.NUM_NA_VAL = 'mode'``, and ``fillna(mode)`` for categorical and binary columns in
``dataset_custom.py``); the repo takes the mode of the whole column, here it is the mode of the
training rows, so nothing of the validation or test rows leaks into preprocessing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from methods.data.tabular_format import Table

from .columns import BINARY, CATEGORICAL, NUMERICAL, Column, binary_values


@dataclass
class Typed:
    """The table as three aligned matrices (rows x columns of each type), imputed."""

    num: np.ndarray  # float32
    cat: np.ndarray  # unicode
    bin: np.ndarray  # float32 0/1
    num_names: list[str]
    cat_names: list[str]
    bin_names: list[str]
    imputed: int  # cells filled

    def names(self) -> list[str]:
        return self.num_names + self.cat_names + self.bin_names


def _mode(values: np.ndarray, missing: np.ndarray):
    present = values[~missing]
    if len(present) == 0:
        return 0.0 if values.dtype.kind == "f" else "missing"
    counts = Counter(present.tolist())
    return max(sorted(counts), key=lambda v: counts[v])  # ties: the smallest value, deterministically


def typed_matrices(table: Table, columns: list[Column], train_rows: np.ndarray) -> Typed:
    """Impute each column with its training-row mode, then split columns by type."""
    num, cat, bin_ = [], [], []
    imputed = 0
    for column in columns:
        values = table.columns[column.index].copy()
        missing = np.isnan(values) if values.dtype.kind == "f" else values == ""
        if missing.any():
            values[missing] = _mode(values[train_rows], missing[train_rows])
            imputed += int(missing.sum())
        if column.kind == NUMERICAL:
            num.append(values.astype(np.float32))
        elif column.kind == CATEGORICAL:
            cat.append(values.astype(str) if values.dtype.kind == "U" else np.char.mod("%g", values))
        else:
            bin_.append(binary_values(values))
    n = len(table)
    pick = lambda kind: [c.name for c in columns if c.kind == kind]  # noqa: E731
    return Typed(
        num=np.stack(num, 1) if num else np.zeros((n, 0), np.float32),
        cat=np.stack(cat, 1) if cat else np.zeros((n, 0), dtype="<U1"),
        bin=np.stack(bin_, 1) if bin_ else np.zeros((n, 0), np.float32),
        num_names=pick(NUMERICAL), cat_names=pick(CATEGORICAL), bin_names=pick(BINARY), imputed=imputed,
    )
