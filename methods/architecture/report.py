"""The ranking table's cells: rho and tau over the architectures pooled from every seed's sample,
with percentile bootstrap 95% intervals over architectures (:func:`.ranking.bootstrap`); the other
metrics (CPU seconds per cell, and the search table) over seeds with the table's t interval. And
the points of the proxy-against-accuracy scatter (:func:`scatter_points`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from methods.core.stats import Interval
from methods.reporting.aggregate import aggregate, cell_row, provenance

from .jobs import DATA_FREE, DATASETS, RANKED
from .ranking import bootstrap, correlations

RESAMPLES = {"smoke": 200, "laptop": 1000, "paper": 1000}
BOOTSTRAP_SEED = 0


def pooled(runs: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per-architecture samples of the ranking runs, concatenated over seeds: ``proxy/<name>``,
    ``accuracy/<dataset>`` and ``data_scored``."""
    samples = runs[(runs["method"] == "ranking") & (runs["sample"] >= 0)]
    out: dict[str, list] = {}
    for _, run in samples.groupby("run_id", sort=True):
        for metric, group in run.groupby("metric"):
            out.setdefault(metric, []).append(group.sort_values("sample")["value"].to_numpy(dtype=float))
    return {k: np.concatenate(v) for k, v in out.items()}


def summarize(study, spec, runs: pd.DataFrame, scale: str, paper_numbers: pd.DataFrame) -> pd.DataFrame:
    long = aggregate(study.table_runs(spec, runs), spec, study.name, scale, paper_numbers)
    if spec.name != "architecture_ranking" or runs[runs["method"] == "ranking"].empty:
        return long
    values = pooled(runs)
    origin = provenance(runs[runs["method"] == "ranking"])
    scored = values["data_scored"].astype(bool)
    for dataset in DATASETS:
        accuracy = values[f"accuracy/{dataset}"]
        for proxy in RANKED:
            on = np.ones(len(accuracy), dtype=bool) if proxy in DATA_FREE else scored
            proxy_values, acc = values[f"proxy/{proxy}"][on], accuracy[on]
            point = correlations(proxy_values, acc)
            bounds = bootstrap(proxy_values, acc, RESAMPLES[scale], BOOTSTRAP_SEED)
            for metric in ("spearman", "kendall"):
                # the measured row only: a paper-only row of another setting (CIFAR inputs) keeps n = 0
                where = ((long["dataset"] == dataset) & (long["method"] == proxy) & (long["metric"] == metric)
                         & (long["n"] > 0))
                if not where.any():
                    continue
                result = Interval(point[metric], *bounds[metric], int(on.sum()), "bootstrap")
                row = cell_row(study.name, spec.name, (dataset, proxy, long.loc[where, "setting"].iloc[0]), metric,
                               result, scale, origin)
                for key in ("mean", "ci95_low", "ci95_high", "n", "interval", "commits", "dirty", "machines"):
                    long.loc[where, key] = row[key]
    return long


def scatter_points(runs: pd.DataFrame, proxies: tuple[str, ...]) -> pd.DataFrame:
    """Each scored cell's proxy value (x) against its NB201 test accuracy (y), a panel per proxy and
    dataset (issue 19 item 5: the view behind the table's rho); the panel's title gives
    the Spearman rho of the cells pooled over seeds (the table's point estimate: a proxy value that
    is not finite ranks last in rho and is not drawn)."""
    ranking = runs[(runs["method"] == "ranking") & (runs["sample"] >= 0)]
    per_seed = {seed: {metric: group.sort_values("sample")["value"].to_numpy(dtype=float)
                       for metric, group in run.groupby("metric")}
                for seed, run in ranking.groupby("seed", sort=True)}
    values = pooled(runs)
    rows = []
    for proxy in proxies:
        for dataset in DATASETS:
            on_all = values["data_scored"].astype(bool) if proxy not in DATA_FREE else slice(None)
            rho = correlations(values[f"proxy/{proxy}"][on_all], values[f"accuracy/{dataset}"][on_all])["spearman"]
            n = len(values[f"accuracy/{dataset}"][on_all])
            title = f"{proxy}, {dataset}: ρ = {rho:.3f} (n = {n})"
            for seed, samples in per_seed.items():
                on = samples["data_scored"].astype(bool) if proxy not in DATA_FREE else slice(None)
                x, y = samples[f"proxy/{proxy}"][on], samples[f"accuracy/{dataset}"][on]
                keep = np.isfinite(x)
                rows += [{"row": proxy, "facet": dataset, "series": proxy, "x": a, "y": b, "seed": seed,
                          "title": title} for a, b in zip(x[keep], y[keep])]
    return pd.DataFrame(rows, columns=["row", "facet", "series", "x", "y", "seed", "title"])
