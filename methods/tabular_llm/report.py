"""The study's table layouts: per-method rows out of family runs, average ranks, a pivot.

Family runs report ``<method>.<metric>``; :func:`summarize` splits those names so that every
method is a row of its own, aggregates them over seeds (:func:`methods.reporting.aggregate.aggregate`),
and adds per method its average rank (``dataset = "average"``, metric ``rank``): on each dataset
the methods are ranked by mean score (1 = best, ties share the mean rank), and the ranks are
averaged over the datasets on which every method ran. :func:`wide` pivots the main table to
datasets x methods, with the rank row, the Friedman test and the Nemenyi post-hoc verdict per method
(Demšar, JMLR 2006; :mod:`methods.reporting.rank_tests`) and the mean cost rows below, then a
section of per-dataset paired comparisons of TDT against each other method over the seeds
(:func:`paired_differences`; Huang et al., TMLR 2025, Section 5 compare per dataset).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from methods.reporting.aggregate import LONG_COLUMNS, aggregate
from methods.reporting.rank_tests import friedman, ranks
from methods.reporting.render import format_cell
from methods.reporting.render import wide as default_wide

from .names import METHOD_ORDER, METHOD_TITLES

MAIN = "tabular_llm"
AVERAGE = "average"
REFERENCE = "tdt"  # the paired comparisons' reference: the official TDT (random word embeddings, quantile PLE, VPCL)
DIFF, DIFF_P = "tdt_diff", "tdt_diff_p"


def per_method(runs: pd.DataFrame) -> pd.DataFrame:
    """Rows of family runs re-keyed by method: ``method.metric`` -> method, metric."""
    split = runs[(runs["method"] != "embed") & runs["metric"].str.contains(".", regex=False)].copy()
    parts = split["metric"].str.split(".", n=1, expand=True)
    split["method"], split["metric"] = parts[0], parts[1]
    return split


UNRANKED = "not ranked (not run on every dataset)"


def average_ranks(long: pd.DataFrame) -> pd.DataFrame:
    """Average ranks over a complete block (Demšar 2006, Section 3.2.2: every method on every dataset).

    A method that did not run on some dataset (the row-text baselines on Adult at laptop scale) is left
    out of the ranks, so that every dataset keeps counting; only if that would leave fewer than two
    methods are the incomplete datasets dropped instead."""
    scores = long[(long["metric"] == "score") & (long["n"] > 0)].pivot_table(
        index="dataset", columns="method", values="mean")
    complete_methods = scores.dropna(axis=1)
    scores = complete_methods if complete_methods.shape[1] >= 2 else scores.dropna()
    if scores.empty:
        return pd.DataFrame(columns=["method", "rank", "datasets"])
    ranked = ranks(scores)
    return pd.DataFrame({"method": ranked.columns, "rank": ranked.mean().values, "datasets": len(ranked)})


def paired_differences(split: pd.DataFrame, reference: str = REFERENCE) -> pd.DataFrame:
    """Per dataset and method: ``reference`` − method in score over the seeds both ran (paired by seed),
    the mean with its 95% Student-t interval and the paired t-test's two-sided p (scipy ``ttest_rel``).
    Columns: dataset, method, mean, low, high, p, n; p is NaN when the differences have no spread."""
    from scipy import stats

    scores = split[split["metric"] == "score"].pivot_table(index=["dataset", "seed"], columns="method",
                                                          values="value")
    rows = []
    if reference not in scores.columns:
        return pd.DataFrame(rows, columns=["dataset", "method", "mean", "low", "high", "p", "n"])
    for dataset, frame in scores.groupby(level="dataset"):
        for method in (m for m in frame.columns if m != reference):
            pair = frame[[reference, method]].dropna()
            diff = (pair[reference] - pair[method]).to_numpy()
            if len(diff) == 0:
                continue
            mean, low, high, p = float(diff.mean()), np.nan, np.nan, np.nan
            if len(diff) > 1 and diff.std(ddof=1) > 0:
                low, high = stats.t.interval(0.95, len(diff) - 1, loc=mean, scale=stats.sem(diff))
                p = float(stats.ttest_rel(pair[reference], pair[method]).pvalue)
            rows.append({"dataset": dataset, "method": method, "mean": mean, "low": low, "high": high, "p": p,
                         "n": len(diff)})
    return pd.DataFrame(rows, columns=["dataset", "method", "mean", "low", "high", "p", "n"])


def summarize(study: str, spec, runs: pd.DataFrame, scale: str, paper_numbers: pd.DataFrame) -> pd.DataFrame:
    if spec.name != MAIN:
        return aggregate(runs, spec, study, scale, paper_numbers)
    split = per_method(runs)
    long = aggregate(split, spec, study, scale, paper_numbers)
    template = long[long["n"] > 0].iloc[0] if (long["n"] > 0).any() else None
    origin = {"study": study, "table": spec.name, "setting": "default", "scale": scale, "paper_value": np.nan,
              "paper_source": np.nan, "commits": template["commits"] if template is not None else "",
              "dirty": bool(template["dirty"]) if template is not None else False,
              "machines": template["machines"] if template is not None else ""}
    rows = [{**origin, "dataset": AVERAGE, "method": r["method"], "metric": "rank", "mean": r["rank"],
             "ci95_low": np.nan, "ci95_high": np.nan, "n": int(r["datasets"]), "interval": "none"}
            for _, r in average_ranks(long).iterrows()]
    for _, r in paired_differences(split).iterrows():
        keys = {**origin, "dataset": r["dataset"], "method": r["method"], "n": int(r["n"])}
        rows.append({**keys, "metric": DIFF, "mean": r["mean"], "ci95_low": r["low"], "ci95_high": r["high"],
                     "interval": "t"})
        rows.append({**keys, "metric": DIFF_P, "mean": r["p"], "ci95_low": np.nan, "ci95_high": np.nan,
                     "interval": "none"})
    return pd.concat([long, pd.DataFrame(rows, columns=LONG_COLUMNS)], ignore_index=True)


def significance(long: pd.DataFrame) -> tuple[str, dict[str, str]] | None:
    """The rank row's verdicts: per method, whether its average rank differs from the best one's by
    Nemenyi's CD, read only when the Friedman test rejects at α = 0.05 (Demšar Section 3.2.2)."""
    average = long[(long["dataset"] == AVERAGE) & (long["metric"] == "rank") & (long["n"] > 0)]
    if len(average) < 2 or int(average["n"].iloc[0]) < 2:
        return None
    by_method = dict(zip(average["method"], average["mean"].astype(float)))
    test = friedman(list(by_method.values()), int(average["n"].iloc[0]))
    best = min(by_method.values())
    if test.f_p >= 0.05:
        label = (f"vs the best rank (Friedman F_F p = {test.f_p:.3g} ≥ 0.05 over {test.n_datasets} datasets: "
                 "no difference shown)")
        return label, {m: "not shown" for m in by_method}
    label = (f"vs the best rank (Friedman F_F p = {test.f_p:.3g} over {test.n_datasets} datasets; "
             f"Nemenyi CD = {test.cd:.2f})")
    return label, {m: "best" if r == best else ("worse" if r - best >= test.cd else "not different")
                   for m, r in by_method.items()}


def _order(methods) -> list[str]:
    known = [m for m in METHOD_ORDER if m in set(methods)]
    return known + sorted(set(methods) - set(known))


def wide(long: pd.DataFrame, spec) -> tuple[pd.DataFrame, list[str]]:
    """Datasets x methods of the score; then average rank, mean fit time and mean embedding time."""
    if spec.name != MAIN:
        return default_wide(long, spec)
    measured = long[long["n"] > 0]
    methods = _order(measured["method"].unique())
    datasets = sorted(d for d in measured["dataset"].unique() if d != AVERAGE)
    sources: list[str] = []
    table = []

    def cell(dataset, method, metric, decimals):
        hit = long[(long["dataset"] == dataset) & (long["method"] == method) & (long["metric"] == metric)]
        if hit.empty or not hit["n"].iloc[0]:
            text = "—"
        else:
            r = hit.iloc[0]
            text = format_cell(r["mean"], r["ci95_low"], r["ci95_high"], decimals)
        paper = hit[hit["paper_source"].notna()] if not hit.empty else hit
        if len(paper):
            source = str(paper["paper_source"].iloc[0])
            if source not in sources:
                sources.append(source)
            value = paper["paper_value"].iloc[0]
            shown = "not found" if pd.isna(value) else f"{value:.{decimals}f}"
            text += f" (paper: {shown} [{sources.index(source) + 1}])"
        return text

    for dataset in datasets:
        table.append({"dataset": dataset, **{METHOD_TITLES.get(m, m): cell(dataset, m, "score", 3) for m in methods}})
    ranks_shown = {m: cell(AVERAGE, m, "rank", 2) for m in methods}  # "—": measured, but not on every dataset
    table.append({"dataset": "average rank (lower is better)",
                  **{METHOD_TITLES.get(m, m): UNRANKED if ranks_shown[m] == "—" else ranks_shown[m]
                     for m in methods}})
    verdicts = significance(long)
    if verdicts is not None:
        label, per_method = verdicts
        table.append({"dataset": label, **{METHOD_TITLES.get(m, m): per_method.get(m, UNRANKED) for m in methods}})
    for metric, title, decimals in (("fit_s", "fit time (s), mean over datasets", 2),
                                    ("embed_s", "embedding time (s), mean over datasets", 1)):
        row = {"dataset": title}
        for m in methods:
            values = measured[(measured["method"] == m) & (measured["metric"] == metric)]["mean"]
            row[METHOD_TITLES.get(m, m)] = f"{values.mean():.{decimals}f}" if len(values) else "—"
        table.append(row)
    table += _paired_section(long, methods, datasets)
    return pd.DataFrame(table), sources


def _paired_section(long: pd.DataFrame, methods: list[str], datasets: list[str]) -> list[dict]:
    """Rows "TDT − method" per dataset: mean difference ± 95% t half-width, paired t p, and a count row."""
    diffs = long[long["metric"].isin([DIFF, DIFF_P]) & (long["n"] > 0)]
    if diffs.empty:
        return []
    indexed = diffs.set_index(["dataset", "method", "metric"])
    value, low, high = indexed["mean"], indexed["ci95_low"], indexed["ci95_high"]
    rows, better, worse = [], dict.fromkeys(methods, 0), dict.fromkeys(methods, 0)
    for dataset in datasets:
        row = {"dataset": f"{dataset}: TDT − column (paired t over seeds)"}
        for m in methods:
            key = (dataset, m, DIFF)
            if key not in value.index:
                row[METHOD_TITLES.get(m, m)] = "—"
                continue
            p = value.get((dataset, m, DIFF_P), np.nan)
            text = format_cell(value[key], low[key], high[key], 3)
            row[METHOD_TITLES.get(m, m)] = text + (f" (p = {p:.2g})" if pd.notna(p) else " (p: no spread)")
            if pd.notna(p) and p < 0.05:
                better[m] += value[key] > 0
                worse[m] += value[key] < 0
        rows.append(row)
    rows.append({"dataset": "datasets where TDT is better / worse (paired t, p < 0.05)",
                 **{METHOD_TITLES.get(m, m): f"{better[m]} / {worse[m]}" if m != REFERENCE else "—"
                    for m in methods}})
    return rows
