"""Per-method rows out of family runs, and average ranks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from methods.reporting import render
from methods.tabular_llm.names import METHOD_TITLES
from methods.tabular_llm.report import average_ranks, per_method, summarize
from methods.tabular_llm.study import STUDY


def _runs():
    rows = []
    for dataset, values in {"d1": {"a": 0.9, "b": 0.8, "c": 0.8}, "d2": {"a": 0.7, "b": 0.9, "c": 0.6}}.items():
        for seed in (0, 1):
            for method, v in values.items():
                family = "f1" if method != "c" else "f2"
                rows.append({"study": "tabular_llm", "dataset": dataset, "method": family, "setting": "default",
                             "seed": seed, "metric": f"{method}.score", "value": v + 0.01 * seed, "sample": -1,
                             "commit": "abc", "dirty": False, "cpu": "cpu"})
                rows.append({**rows[-1], "metric": f"{method}.fit_s", "value": 1.0})
    rows.append({**rows[-1], "method": "embed", "metric": "rows", "value": 5.0})
    return pd.DataFrame(rows)


def test_family_rows_become_method_rows_with_ranks():
    split = per_method(_runs())
    assert set(split["method"]) == {"a", "b", "c"} and set(split["metric"]) == {"score", "fit_s"}
    spec = STUDY.table("tabular_llm")
    empty = pd.DataFrame(columns=["table", "dataset", "method", "setting", "metric", "value", "source",
                                  "source_kind", "status", "note"])
    long = summarize("tabular_llm", spec, _runs(), "smoke", empty)
    ranks = long[long["metric"] == "rank"].set_index("method")["mean"]
    assert ranks["a"] == 1.5 and ranks["b"] == 1.75 and ranks["c"] == 2.75  # ties share the mean rank
    score = long[(long["metric"] == "score") & (long["dataset"] == "d1") & (long["method"] == "a")].iloc[0]
    assert np.isclose(score["mean"], 0.905) and score["n"] == 2
    frame, _ = STUDY.wide(long, spec)
    assert list(frame["dataset"])[:2] == ["d1", "d2"] and "average rank" in frame["dataset"].iloc[2]
    assert "vs the best rank (Friedman" in frame["dataset"].iloc[3]
    note = next(line for line in render.markdown(long, spec, STUDY.wide).splitlines()
                if line.startswith("Cells:"))  # the ranks carry no interval
    assert "Student-t interval over seeds" in note and "Rows without an interval: n = 2." in note


def test_average_ranks_skip_datasets_missing_a_method():
    long = pd.DataFrame({"dataset": ["d1", "d1", "d2"], "method": ["a", "b", "a"], "metric": "score",
                         "mean": [0.9, 0.8, 0.5], "n": 3})
    ranks = average_ranks(long)
    assert ranks.set_index("method")["rank"].to_dict() == {"a": 1.0, "b": 2.0}
    assert set(ranks["datasets"]) == {1}


def test_paired_differences_over_seeds_are_scipys_t_interval_and_test():
    """TDT − b on d1 over seeds 0..2: differences 0.1, 0.2, 0.3 -> mean 0.2, sd 0.1, sem 0.1/√3,
    t_0.975,2 = 4.303: interval 0.2 ± 0.248; paired t = 0.2 / (0.1/√3) = 3.46, two-sided p = 0.074."""
    from methods.tabular_llm.report import paired_differences

    rows = [{"dataset": "d1", "seed": s, "method": m, "metric": "score", "value": v}
            for s, (t, b) in enumerate([(0.9, 0.8), (0.8, 0.6), (0.7, 0.4)]) for m, v in (("tdt", t), ("b", b))]
    rows += [{"dataset": "d1", "seed": s, "method": "c", "metric": "score", "value": 0.5} for s in range(3)]
    rows += [{"dataset": "d2", "seed": 0, "method": m, "metric": "score", "value": 0.5} for m in ("tdt", "b")]
    diffs = paired_differences(pd.DataFrame(rows)).set_index(["dataset", "method"])
    b = diffs.loc[("d1", "b")]
    assert np.isclose(b["mean"], 0.2) and b["n"] == 3
    assert np.isclose(b["high"] - 0.2, 4.302653 * 0.1 / np.sqrt(3), atol=1e-6)
    assert np.isclose(b["p"], 0.0742, atol=1e-4)
    assert np.isnan(diffs.loc[("d2", "b"), "p"])  # one seed: no interval, no test


def test_the_main_table_has_a_paired_section_counting_significant_datasets():
    rows = []
    for dataset, gap in (("d1", 0.1), ("d2", -0.1)):
        for seed, noise in enumerate((0.0, 0.01, -0.01)):
            for method, value in (("tdt", 0.8 + gap + noise), ("hgb", 0.8 + noise / 2)):
                family = "tdt" if method == "tdt" else "classical"
                rows.append({"study": "tabular_llm", "dataset": dataset, "method": family, "setting": "default",
                             "seed": seed, "metric": f"{method}.score", "value": value, "sample": -1,
                             "commit": "abc", "dirty": False, "cpu": "cpu"})
    spec = STUDY.table("tabular_llm")
    empty = pd.DataFrame(columns=["table", "dataset", "method", "setting", "metric", "value", "source",
                                  "source_kind", "status", "note"])
    frame, _ = STUDY.wide(summarize("tabular_llm", spec, pd.DataFrame(rows), "smoke", empty), spec)
    labels = list(frame["dataset"])
    assert "d1: TDT − column (paired t over seeds)" in labels
    count = frame[frame["dataset"].str.startswith("datasets where TDT is better")].iloc[0]
    assert count["HistGB"] == "1 / 1" and count[METHOD_TITLES["tdt"]] == "—"


def test_a_method_missing_on_a_dataset_is_left_out_of_the_ranks_not_the_dataset():
    """The laptop row-text baselines skip Adult: every dataset still counts, those methods are not ranked."""
    long = pd.DataFrame({"dataset": ["d1", "d1", "d1", "d2", "d2"], "method": ["a", "b", "c", "a", "b"],
                         "metric": "score", "mean": [0.9, 0.8, 0.95, 0.5, 0.7], "n": 3})
    ranks = average_ranks(long)
    assert ranks.set_index("method")["rank"].to_dict() == {"a": 1.5, "b": 1.5}
    assert set(ranks["datasets"]) == {2}
