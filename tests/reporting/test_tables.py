"""From collected runs to table rows and text: intervals, paper numbers, layout."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from methods.core.study import FigureSpec, TableSpec
from methods.reporting import aggregate, paper, render
from methods.reporting.figures import draw

SPEC = TableSpec(name="demo", title="Demo", metrics={"accuracy": "Accuracy (%)", "params": "Params"},
                 rows=("dataset", "method"), decimals={"accuracy": 2, "params": 0},
                 figures=(FigureSpec("acc", x="params", y="accuracy"),))


def _runs(values):
    rows = []
    for (dataset, method), accs in values.items():
        for seed, acc in enumerate(accs):
            base = {"study": "demo", "dataset": dataset, "method": method, "setting": "dense", "seed": seed,
                    "run_id": f"demo/{dataset}/{method}/dense/seed{seed}", "commit": "abc123def4567",
                    "dirty": False, "spec_hash": "x", "threads": 1, "cpu": "cpu", "sample": -1, "kind": "quality"}
            rows += [{**base, "metric": "accuracy", "value": acc}, {**base, "metric": "params", "value": 1000.0}]
    return pd.DataFrame(rows)


def _paper(tmp_path, rows):
    path = tmp_path / "paper_numbers.csv"
    pd.DataFrame(rows, columns=paper.COLUMNS).to_csv(path, index=False)
    return paper.load(path, "demo")


def test_each_cell_names_the_cpus_of_its_runs_and_the_footnote_all_of_them():
    """Float results differ between CPU models (kernel choice, summation order): a cell says where it ran."""
    runs = _runs({("d", "m"): [90.0, 92.0, 91.0], ("d", "n"): [80.0, 81.0]})
    runs.loc[(runs["method"] == "m") & (runs["seed"] == 2), "cpu"] = "Other CPU"
    long = aggregate.aggregate(runs, SPEC, "demo", "laptop", paper.load(None, "demo"))
    machines = long[long["metric"] == "accuracy"].set_index("method")["machines"]
    assert machines["m"] == "Other CPU; cpu" and machines["n"] == "cpu"
    assert "CPU: Other CPU; cpu." in render.footnote(long, SPEC)


def test_cells_are_mean_and_t_interval_over_seeds(tmp_path):
    long = aggregate.aggregate(_runs({("d", "m"): [90.0, 92.0, 91.0]}), SPEC, "demo", "laptop", paper.load(None, "demo"))
    cell = long[long["metric"] == "accuracy"].iloc[0]
    assert cell["mean"] == pytest.approx(91.0) and cell["n"] == 3
    assert cell["ci95_high"] - cell["mean"] == pytest.approx(4.303 * 1.0 / math.sqrt(3), rel=1e-3)
    assert list(long.columns) == aggregate.LONG_COLUMNS


def test_paper_numbers_join_beside_ours_and_unmeasured_rows_are_kept(tmp_path):
    numbers = _paper(tmp_path, [
        ["demo", "d", "m", "dense", "accuracy", 93.5, "Paper A, Table 2", "paper-in-repo", "read", ""],
        ["demo", "big", "m", "dense", "accuracy", 70.1, "Paper A, Table 3", "paper-in-repo", "read", ""],
        ["demo", "d", "m", "dense", "params", None, "Paper B", "", "not found", "table not transcribed"],
    ])
    long = aggregate.aggregate(_runs({("d", "m"): [90.0, 92.0]}), SPEC, "demo", "laptop", numbers)
    ours = long.set_index(["dataset", "metric"])
    assert ours.loc[("d", "accuracy"), "paper_value"] == 93.5
    assert ours.loc[("big", "accuracy"), "n"] == 0 and math.isnan(ours.loc[("big", "accuracy"), "mean"])
    assert ours.loc[("d", "params"), "paper_source"] == "not found: Paper B"
    text = render.markdown(long, SPEC)
    sources = text.split("Paper numbers:\n")[1].split("\n\n")[0].splitlines()
    marker = next(line for line in sources if line.endswith("Paper A, Table 2")).split(" ")[0]
    assert f"93.50 {marker}" in text
    assert "not found [" in text and "not found: Paper B" in sources[-1]


def test_read_paper_number_without_value_is_rejected(tmp_path):
    path = tmp_path / "paper_numbers.csv"
    pd.DataFrame([["demo", "d", "m", "dense", "accuracy", None, "src", "", "read", ""]], columns=paper.COLUMNS).to_csv(path, index=False)
    with pytest.raises(ValueError, match="marked 'read' without a value"):
        paper.load(path, "demo")


def test_markdown_and_latex_layout(tmp_path):
    long = aggregate.aggregate(_runs({("d", "m"): [90.0, 92.0], ("d", "n"): [50.0, 54.0]}), SPEC, "demo", "smoke",
                               paper.load(None, "demo"))
    text = render.markdown(long, SPEC)
    assert "| d         | m        | 91.00 ± 12.71  | 1,000    |" in text  # t(0.975, 1) = 12.706
    assert "n = 2" in text and "Scale: smoke" in text and "abc123def456" in text
    tex = render.latex(long, SPEC)
    assert "\\toprule" in tex and "$\\pm$" in tex and "Accuracy (\\%)" in tex


def test_format_cell():
    assert render.format_cell(91.0, 90.0, 92.0, 2) == "91.00 ± 1.00"
    assert render.format_cell(1234.0, 1234.0, 1234.0, 0) == "1,234"
    assert render.format_cell(float("nan"), float("nan"), float("nan"), 2) == "—"
    assert render.format_cell(5.0, float("nan"), float("nan"), 1) == "5.0"


def test_figure_is_drawn_from_the_long_rows(tmp_path):
    long = aggregate.aggregate(_runs({("d", "m"): [90.0, 92.0]}), SPEC, "demo", "smoke", paper.load(None, "demo"))
    out = tmp_path / "fig.png"
    draw(long, SPEC.figures[0], SPEC, out)
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert out.with_suffix(".pdf").read_bytes()[:4] == b"%PDF"


def test_figure_with_a_single_seed_has_no_error_bars_but_is_drawn(tmp_path):
    long = aggregate.aggregate(_runs({("d", "m"): [90.0]}), SPEC, "demo", "smoke", paper.load(None, "demo"))
    out = tmp_path / "fig.png"
    draw(long, SPEC.figures[0], SPEC, out)
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert out.with_suffix(".pdf").read_bytes()[:4] == b"%PDF"
