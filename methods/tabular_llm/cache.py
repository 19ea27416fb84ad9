"""The embedding cache of one dataset: every distinct string is embedded once and stored.

One ``embed`` run per dataset (a rule output the LLM runs need) writes ``embeddings.npz``:

* per-cell sentence embeddings of the distinct ``"This {col} is {value}."`` strings and, per row
  and column, the index of its string (Koloski et al.'s per-cell baseline);
* a sentence embedding per distinct serialized row (the naive row-as-text baseline);
* TDTransformer's token inputs: the WordPiece ids of every distinct ``"{col} {value}"`` cell and
  of every column name, and the rows of the LM's word-embedding matrix for the ids used.

Strings do not depend on labels or on the split, so embedding all rows once leaks nothing; the
run records the seconds each family took and the number of distinct strings.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from methods.core import atomic
from methods.core.errors import DataError
from methods.data.formats import load_arrays, save_arrays
from methods.data.tabular_format import Table

from . import serialize
from .columns import CATEGORICAL, Column

MISSING_TEXT = "unknown"
FILE, SUMMARY = "embeddings.npz", "embed.json"


def _cells(table: Table) -> list[np.ndarray]:
    """Columns with missing cells written as :data:`MISSING_TEXT` (object arrays of values)."""
    out = []
    for values in table.columns:
        missing = np.isnan(values) if values.dtype.kind == "f" else values == ""
        cells = values.astype(object)
        cells[missing] = MISSING_TEXT
        out.append(cells)
    return out


def build(table: Table, columns: list[Column], lm, batch_size: int, row_text: bool = True) -> tuple[dict, dict]:
    """All cached arrays of ``table`` and a summary with the seconds each part took; without
    ``row_text`` the rows are not serialized and embedded (no ``row_emb``; ``row_s`` is None)."""
    cells = _cells(table)
    timings = {}

    start = time.perf_counter()
    strings, cell_ids = serialize.cell_table(table.names, cells, serialize.koloski_cell)
    cell_emb = lm.embed(strings, batch_size)
    timings["cell_s"] = time.perf_counter() - start

    row_arrays, distinct_rows, timings["row_s"] = {}, None, None
    if row_text:
        start = time.perf_counter()
        rows = [serialize.row_text(table.names, row) for row in zip(*cells)]
        distinct, row_index = np.unique(np.array(rows, dtype=str), return_inverse=True)
        row_arrays["row_emb"] = lm.embed(distinct.tolist(), batch_size)[row_index]
        distinct_rows, timings["row_s"] = len(distinct), time.perf_counter() - start

    start = time.perf_counter()
    keys = list(table.names) + [","]
    for column in columns:
        if column.kind == CATEGORICAL:
            values = table.columns[column.index]
            keys += sorted({serialize.tdt_cell(column.name, v) for v in values.tolist() if v == v and v != ""})
    pieces = lm.token_ids(keys)
    vocab = np.array(sorted({t for p in pieces for t in p}), dtype=np.int64)
    position = {t: i for i, t in enumerate(vocab.tolist())}
    width = max(1, max(len(p) for p in pieces))
    tok_pieces = np.full((len(keys), width), -1, dtype=np.int32)
    for i, p in enumerate(pieces):
        tok_pieces[i, :len(p)] = [position[t] for t in p]
    tok_table = lm.token_table(vocab)
    timings["token_s"] = time.perf_counter() - start

    arrays = {"cell_strings": np.array(strings, dtype=str), "cell_emb": cell_emb, "cell_ids": cell_ids,
              **row_arrays, "tok_keys": np.array(keys, dtype=str), "tok_pieces": tok_pieces,
              "tok_vocab": vocab, "tok_table": tok_table}
    summary = {**timings, "lm": lm.name, "rows": len(table), "columns": len(table.names),
               "distinct_cells": len(strings), "distinct_rows": distinct_rows, "token_keys": len(keys),
               "vocab_used": len(vocab), "dim": lm.dim}
    return arrays, summary


def save(run_dir: Path, arrays: dict, summary: dict) -> None:
    save_arrays(run_dir / FILE, **arrays)
    atomic.write_json(run_dir / SUMMARY, summary)


@dataclass
class Cache:
    arrays: dict
    summary: dict

    @classmethod
    def load(cls, run_dir: Path, rows: int) -> "Cache":
        arrays = load_arrays(run_dir / FILE)
        summary = json.loads((run_dir / SUMMARY).read_text())
        if len(arrays["cell_ids"]) != rows:
            raise DataError(f"{run_dir}: the cache holds {len(arrays['cell_ids'])} rows, the table has {rows}")
        return cls(arrays, summary)

    def row_features(self) -> np.ndarray:
        if "row_emb" not in self.arrays:
            raise DataError("this dataset's embedding cache was built without row texts (embed run param "
                            "row_text: false), so the row-text methods cannot run on it")
        return self.arrays["row_emb"]

    def cell_features(self) -> np.ndarray:
        """Mean of each row's per-cell embeddings (rows x dim)."""
        return self.arrays["cell_emb"][self.arrays["cell_ids"]].mean(1)

    def pieces(self, keys: list[str]) -> list[np.ndarray]:
        """Token positions (into :attr:`tok_table`) of each key string."""
        index = {k: i for i, k in enumerate(self.arrays["tok_keys"].tolist())}
        missing = [k for k in keys if k not in index]
        if missing:
            raise DataError(f"token cache has no entry for {missing[:3]} (re-run the embed run)")
        rows = self.arrays["tok_pieces"][[index[k] for k in keys]]
        return [r[r >= 0] for r in rows]

    @property
    def tok_table(self) -> np.ndarray:
        return self.arrays["tok_table"]
