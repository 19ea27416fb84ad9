"""Cells and rows as text, for the language-model encoders.

* TDTransformer (``embed.py``): each categorical cell is ``"{column} {value}"``; a row's cells
  are joined with commas and tokenized.
* Row serialization (the naive baseline, TabLLM's "list" template): ``"{col} is {value}, ..."``
  over every column, embedded as one sentence.
* Per-cell serialization (Koloski et al. 2025, arXiv 2502.11596): ``"This {col} is {value}."``
  per cell, each embedded alone; a row is the mean of its cells' embeddings.
"""

from __future__ import annotations

import numpy as np


def value_text(value) -> str:
    """Numbers without trailing zeros (39.0 -> '39', 0.125 -> '0.125'), text as it is."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    return str(value)


def tdt_cell(column: str, value) -> str:
    return f"{column} {value_text(value)}"


def koloski_cell(column: str, value) -> str:
    return f"This {column} is {value_text(value)}."


def row_text(names: list[str], row) -> str:
    return ", ".join(f"{name} is {value_text(v)}" for name, v in zip(names, row))


def cell_table(names: list[str], columns: list[np.ndarray], template) -> tuple[list[str], np.ndarray]:
    """Distinct cell strings of a table and, per row and column, the index of its string."""
    index: dict[str, int] = {}
    ids = np.zeros((len(columns[0]) if columns else 0, len(columns)), dtype=np.int32)
    for j, (name, values) in enumerate(zip(names, columns)):
        for i, v in enumerate(values.tolist()):
            ids[i, j] = index.setdefault(template(name, v), len(index))
    return list(index), ids
