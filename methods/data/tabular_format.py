"""The prepared form of a mixed-type table: one ``.npz`` of typed column arrays, no pickles.

Each column is stored as its own array, ``col000``, ``col001``, ...: numeric columns as float64
(missing values are NaN) and text columns as a unicode array (missing values are ``""``). The
labels are ``y`` (int64, 0..K-1) with their names in ``classes``; ``meta`` is a 0-d unicode array
holding JSON: the column names, their storage kinds (``numeric`` | ``text``), the target's name
and free-form notes. Loading needs only ``numpy.load(..., allow_pickle=False)``.

This module registers no dataset (``DATASETS`` is empty); the table datasets import it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from methods.core.errors import DataError

from .formats import load_arrays, save_arrays

DATASETS = ()
NUMERIC, TEXT = "numeric", "text"


@dataclass
class Table:
    """Named, typed columns with integer labels."""

    names: list[str]
    columns: list[np.ndarray]
    y: np.ndarray
    classes: list[str]
    meta: dict = field(default_factory=dict)

    @property
    def kinds(self) -> list[str]:
        return [NUMERIC if c.dtype.kind == "f" else TEXT for c in self.columns]

    def __len__(self) -> int:
        return len(self.y)

    def take(self, rows: np.ndarray) -> "Table":
        return Table(list(self.names), [c[rows] for c in self.columns], self.y[rows], list(self.classes),
                     dict(self.meta))


def save_table(out: Path, table: Table) -> None:
    """Check and write ``table`` (see the module docstring for the layout)."""
    if len(table.names) != len(table.columns) or len(set(table.names)) != len(table.names):
        raise DataError(f"{out}: column names must be unique and one per column")
    arrays = {}
    for i, (name, column) in enumerate(zip(table.names, table.columns)):
        if len(column) != len(table.y):
            raise DataError(f"{out}: column '{name}' has {len(column)} rows, labels have {len(table.y)}")
        if column.dtype.kind not in "fU":
            raise DataError(f"{out}: column '{name}' must be float or unicode, got {column.dtype}")
        arrays[f"col{i:03d}"] = column.astype(np.float64) if column.dtype.kind == "f" else column
    meta = {**table.meta, "names": table.names, "kinds": table.kinds}
    save_arrays(out, y=table.y.astype(np.int64), classes=np.array(table.classes, dtype=str),
                meta=np.array(json.dumps(meta, sort_keys=True)), **arrays)


def load_table(path: Path) -> Table:
    """Read a table written by :func:`save_table`, or a flat ``x``/``feature_names`` set (sklearn)."""
    arrays = load_arrays(path)
    classes = [str(c) for c in arrays.get("classes", np.unique(arrays["y"]))]
    if "meta" in arrays:
        meta = json.loads(str(arrays["meta"]))
        columns = [arrays[f"col{i:03d}"] for i in range(len(meta["names"]))]
        return Table(list(meta["names"]), columns, arrays["y"].astype(np.int64), classes, meta)
    if "x" not in arrays or arrays["x"].ndim != 2:
        raise DataError(f"{path}: neither a table (meta + columns) nor a flat x matrix")
    x = arrays["x"].astype(np.float64)
    names = [str(n) for n in arrays.get("feature_names", [])] or [f"feature {j}" for j in range(x.shape[1])]
    return Table(names, [x[:, j] for j in range(x.shape[1])], arrays["y"].astype(np.int64), classes,
                 {"source": "flat numeric matrix"})
