"""Aggregate runs into a table's long rows: mean, 95% interval and n per cell, paper numbers beside.

Long-form columns (the CSV every table is written as): study, table, dataset, method, setting,
metric, mean, ci95_low, ci95_high, n, scale, paper_value, paper_source, interval, commits, dirty,
machines (the CPU models the runs ran on: float results can differ between CPUs; a method whose
runs name their kernels, e.g. the int8 engine, carries that note: "Intel Xeon (int8 engine x86)").
"""

from __future__ import annotations

import json

import pandas as pd

from methods.core.stats import INTERVALS
from methods.core.specs import TableSpec

from . import paper

LONG_COLUMNS = ["study", "table", "dataset", "method", "setting", "metric", "mean", "ci95_low", "ci95_high",
                "n", "scale", "paper_value", "paper_source", "interval", "commits", "dirty", "machines"]
GROUP = ["dataset", "method", "setting"]


def _machines(runs: pd.DataFrame) -> set[str]:
    """The CPU of each run, with its kernel note for the row's method where the run gave one."""
    if "kernels" not in runs:
        return set(runs["cpu"])
    notes = (json.loads(kernels).get(method) for kernels, method in zip(runs["kernels"], runs["method"]))
    return {f"{cpu} ({note})" if note else cpu for cpu, note in zip(runs["cpu"], notes)}


def provenance(*runs: pd.DataFrame) -> dict:
    """Commits, dirty flag and CPU models of the runs behind one cell (several frames: paired runs)."""
    frame = pd.concat([r[["commit", "dirty"]] for r in runs])
    return {"commits": " ".join(sorted(set(frame["commit"]))), "dirty": bool(frame["dirty"].any()),
            "machines": "; ".join(sorted(set().union(*map(_machines, runs))))}


def cell_row(study: str, table: str, keys: tuple, metric: str, result, scale: str, origin: dict) -> dict:
    """One measured long-form row: ``keys`` (dataset, method, setting), the interval ``result`` and the
    provenance of its runs (:func:`provenance`)."""
    dataset, method, setting = keys
    return {"study": study, "table": table, "dataset": dataset, "method": method, "setting": setting,
            "metric": metric, "mean": result.mean, "ci95_low": result.low, "ci95_high": result.high,
            "n": result.n, "scale": scale, "interval": result.method, **origin}


def aggregate(runs: pd.DataFrame, spec: TableSpec, study: str, scale: str, paper_numbers: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, method, setting, metric) of ``spec``; cells over seeds (``t``) or over
    the pooled per-episode samples (``normal``)."""
    interval = INTERVALS[spec.interval]
    selected = runs[runs["metric"].isin(list(spec.metrics))]
    if spec.datasets is not None:
        selected = selected[selected["dataset"].isin(spec.datasets)]
    rows = []
    for (dataset, method, setting, metric), group in selected.groupby(GROUP + ["metric"], sort=False):
        samples = group[group["sample"] >= 0]
        values = samples["value"] if spec.interval == "normal" and len(samples) else group[group["sample"] < 0]["value"]
        result = interval(values)
        rows.append(cell_row(study, spec.name, (dataset, method, setting), metric, result, scale, provenance(group)))
    measured = pd.DataFrame(rows, columns=[c for c in LONG_COLUMNS if c not in ("paper_value", "paper_source")])
    reference = paper_numbers.rename(columns={"value": "paper_value", "source": "paper_source"})
    reference = reference[reference["metric"].isin(list(spec.metrics))]
    merged = measured.merge(reference[paper.KEYS + ["paper_value", "paper_source", "status"]], on=paper.KEYS, how="outer")
    unmatched = merged["study"].isna()
    merged.loc[unmatched, ["study", "table", "scale", "interval"]] = [study, spec.name, scale, spec.interval]
    merged.loc[unmatched, "n"] = 0
    merged.loc[unmatched, "dirty"] = False
    merged.loc[unmatched, ["commits", "machines"]] = ["", ""]
    not_found = merged["status"].eq("not found")
    merged.loc[not_found, "paper_source"] = "not found: " + merged.loc[not_found, "paper_source"].astype(str)
    merged["n"] = merged["n"].astype(int)
    order = {name: i for i, name in enumerate(spec.metrics)}
    merged = merged.sort_values(["dataset", "method", "setting", "metric"],
                                key=lambda s: s.map(order) if s.name == "metric" else s, ignore_index=True)
    return merged[LONG_COLUMNS]
