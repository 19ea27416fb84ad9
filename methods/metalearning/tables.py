"""Long rows of the study's tables: cells with two intervals, paired differences and a verdict.

Every cell comes twice in the long form, told apart by its ``interval`` column:

* ``normal``: the few-shot literature's 1.96*std/sqrt(n) over test episodes pooled over training
  seeds (n = episodes x seeds). It ignores the variance between training seeds.
* ``t``: Student's t over the per-seed means (n = seeds, n-1 degrees of freedom), which counts it.

A ``Δ <setting> - baseline`` row holds, for each metric, the differences between a setting and the
same learner's baseline on the same test episode of the same training seed (the test episodes are
identical for every model): the paired comparison the issue asks for, with the same two intervals
(``t`` over the per-seed mean differences). The verdict on a Δ row reads the seed-level interval:
"above" when it lies above 0, "below" when it lies below, "within" otherwise.
"""

from __future__ import annotations

import pandas as pd

from methods.core.stats import Interval, normal_interval, t_interval_over_groups
from methods.core.verdict import position
from methods.reporting.aggregate import LONG_COLUMNS, aggregate, cell_row, provenance
from methods.reporting.render import format_cell
from methods.reporting.render import wide as generic_wide

BASELINE = "baseline"
SEED_INTERVAL = "t"
VERDICT_METRICS = {"acc_1shot": "1-shot", "acc_5shot": "5-shot"}
VERDICT_COLUMN = "Verdict (seed-level paired interval)"


def delta_name(setting: str) -> str:
    return f"Δ {setting} − {BASELINE} (paired)"


def _row(spec, study: str, scale: str, keys: tuple, metric: str, result: Interval, origin: dict) -> dict:
    return {**cell_row(study, spec.name, keys, metric, result, scale, origin),
            "paper_value": float("nan"), "paper_source": None}


def _samples(runs: pd.DataFrame, spec) -> pd.DataFrame:
    samples = runs[(runs["sample"] >= 0) & runs["metric"].isin(list(spec.metrics))]
    return samples if spec.datasets is None else samples[samples["dataset"].isin(spec.datasets)]


def seed_rows(runs: pd.DataFrame, spec, study: str, scale: str) -> list[dict]:
    """The seed-level interval of every measured cell: Student-t over the per-seed means of its episodes."""
    rows = []
    for (dataset, method, setting, metric), group in _samples(runs, spec).groupby(
            ["dataset", "method", "setting", "metric"], sort=False):
        rows.append(_row(spec, study, scale, (dataset, method, setting), metric,
                         t_interval_over_groups(group["value"], group["seed"]), provenance(group)))
    return rows


def paired_rows(runs: pd.DataFrame, spec, study: str, scale: str, cells) -> list[dict]:
    """Δ rows: per-episode paired differences to the baseline, over episodes and over seeds."""
    samples = _samples(runs, spec)
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
                difference = group["value"] - group["value_base"]
                origin = provenance(group, group[["commit_base", "dirty_base", "cpu_base"]].rename(
                    columns=lambda name: name.removesuffix("_base")))
                for result in (normal_interval(difference), t_interval_over_groups(difference, group["seed"])):
                    rows.append(_row(spec, study, scale, (dataset, method, delta_name(setting)), metric, result,
                                     origin))
    return rows


def summarize(spec, runs: pd.DataFrame, study: str, scale: str, paper_numbers: pd.DataFrame, cells) -> pd.DataFrame:
    """Rows of ``spec`` restricted to ``cells`` (method, setting), with paired Δ rows after each setting;
    each measured cell's episode-level row is followed by its seed-level row."""
    wanted = runs[[(m, s) in set(cells) for m, s in zip(runs["method"], runs["setting"])]]
    long = aggregate(wanted, spec, study, scale, paper_numbers)
    derived = seed_rows(wanted, spec, study, scale) + paired_rows(wanted, spec, study, scale, cells)
    long = pd.concat([long, pd.DataFrame(derived, columns=LONG_COLUMNS)], ignore_index=True)
    setting_order = {}
    for i, (_, setting) in enumerate(cells):
        setting_order.setdefault(setting, 2 * i)
        setting_order.setdefault(delta_name(setting), 2 * i + 1)
    metric_order = {name: i for i, name in enumerate(spec.metrics)}
    long["_s"] = long["setting"].map(setting_order).fillna(len(setting_order) * 2)
    long["_m"] = long["metric"].map(metric_order)
    long["_i"] = long["interval"].eq(SEED_INTERVAL)
    long = long.sort_values(["dataset", "method", "_s", "_m", "_i"], ignore_index=True, kind="stable")
    return long.drop(columns=["_s", "_m", "_i"])[LONG_COLUMNS]


def verdict(low: float, high: float) -> str:
    """Where the interval [low, high] of a difference lies with respect to 0 (the claims' rule,
    :func:`methods.core.verdict.position`), in the words of the table's verdict column."""
    return {"above": "above", "below": "below", "across": "within", None: "n/a"}[position(low, high, 0.0)]


def wide(long: pd.DataFrame, spec) -> tuple[pd.DataFrame, list[str]]:
    """The generic layout of the episode-level rows, each cell followed by its seed-level half-width in
    parentheses, and, when the table has Δ rows, the verdict of their seed-level intervals."""
    by_seed = long[long["interval"] == SEED_INTERVAL]
    frame, sources = generic_wide(long[long["interval"] != SEED_INTERVAL], spec)
    keys = list(spec.rows)
    position = {tuple(record): i for i, record in enumerate(frame[keys].itertuples(index=False, name=None))}
    verdicts: dict[int, list[str]] = {}
    for _, row in by_seed.iterrows():
        i = position[tuple(row[k] for k in keys)]
        decimals = spec.decimals.get(row["metric"], 2)
        seed_cell = format_cell(row["mean"], row["ci95_low"], row["ci95_high"], decimals)
        if " ± " in seed_cell:
            j = frame.columns.get_loc(spec.metrics[row["metric"]])
            frame.iat[i, j] = f"{frame.iat[i, j]} (± {seed_cell.split(' ± ')[1]})"
        if row["setting"].startswith("Δ ") and row["metric"] in VERDICT_METRICS:
            verdicts.setdefault(i, []).append(f"{VERDICT_METRICS[row['metric']]} "
                                              f"{verdict(row['ci95_low'], row['ci95_high'])}")
    if verdicts:
        frame[VERDICT_COLUMN] = [", ".join(verdicts.get(i, ["—"])) for i in range(len(frame))]
    return frame, sources
