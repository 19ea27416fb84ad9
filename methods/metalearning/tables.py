"""Long rows of the study's tables: the cells of one table, plus paired differences to the baseline.

The generic aggregation pools per-episode accuracies over seeds (1.96*std/sqrt(n)). A ``Δ <setting>
- baseline`` row holds, for each metric, the mean and 1.96*std/sqrt(n) interval of the differences
between a setting and the same learner's baseline on the same test episode of the same training
seed: the paired comparison the issue asks for (the test episodes are identical for every model).
"""

from __future__ import annotations

import pandas as pd

from methods.core.stats import normal_interval
from methods.reporting.aggregate import LONG_COLUMNS, aggregate

BASELINE = "baseline"


def delta_name(setting: str) -> str:
    return f"Δ {setting} − {BASELINE} (paired)"


def paired_rows(runs: pd.DataFrame, spec, study: str, scale: str, cells) -> list[dict]:
    samples = runs[(runs["sample"] >= 0) & runs["metric"].isin(list(spec.metrics))]
    rows = []
    for dataset in sorted(samples["dataset"].unique()):
        here = samples[samples["dataset"] == dataset]
        for method, setting in cells:
            if setting == BASELINE or (method, BASELINE) not in cells:
                continue
            keys = ["seed", "metric", "sample"]
            treated = here[(here["method"] == method) & (here["setting"] == setting)]
            base = here[(here["method"] == method) & (here["setting"] == BASELINE)]
            pairs = treated.merge(base, on=keys, suffixes=("", "_base"))
            for metric, group in pairs.groupby("metric", sort=False):
                result = normal_interval(group["value"] - group["value_base"])
                commits = set(group["commit"]) | set(group["commit_base"])
                rows.append({"study": study, "table": spec.name, "dataset": dataset, "method": method,
                             "setting": delta_name(setting), "metric": metric, "mean": result.mean,
                             "ci95_low": result.low, "ci95_high": result.high, "n": result.n, "scale": scale,
                             "paper_value": float("nan"), "paper_source": None, "interval": "normal",
                             "commits": " ".join(sorted(commits)),
                             "dirty": bool(group["dirty"].any() or group["dirty_base"].any())})
    return rows


def summarize(spec, runs: pd.DataFrame, study: str, scale: str, paper_numbers: pd.DataFrame, cells) -> pd.DataFrame:
    """Rows of ``spec`` restricted to ``cells`` (method, setting), with paired Δ rows after each setting."""
    wanted = runs[[(m, s) in set(cells) for m, s in zip(runs["method"], runs["setting"])]]
    long = aggregate(wanted, spec, study, scale, paper_numbers)
    long = pd.concat([long, pd.DataFrame(paired_rows(wanted, spec, study, scale, cells), columns=LONG_COLUMNS)],
                     ignore_index=True)
    setting_order = {}
    for i, (_, setting) in enumerate(cells):
        setting_order.setdefault(setting, 2 * i)
        setting_order.setdefault(delta_name(setting), 2 * i + 1)
    metric_order = {name: i for i, name in enumerate(spec.metrics)}
    long["_s"] = long["setting"].map(setting_order).fillna(len(setting_order) * 2)
    long["_m"] = long["metric"].map(metric_order)
    long = long.sort_values(["dataset", "method", "_s", "_m"], ignore_index=True, kind="stable")
    return long.drop(columns=["_s", "_m"])[LONG_COLUMNS]
