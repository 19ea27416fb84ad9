"""Figures: one family per line, plain and readable ticks, intervals clipped only when drawn, axis
titles from the tables' column titles, and
every figure every study declares rendered from its committed laptop table."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from methods.core.specs import FigureSpec, TableSpec  # noqa: E402
from methods.core.study import available_studies, load_study  # noqa: E402
from methods.reporting import render  # noqa: E402
from methods.reporting.figure_style import METHOD_STYLE, overlapping_ticks  # noqa: E402
from methods.reporting.figures import draw, figure  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EQUAL_BITS = r"w(?P<x>\d+)a(?P=x)-(?P<family>channel|tensor)"
TABLE = TableSpec(name="q", title="Quantization", metrics={"accuracy": "Test accuracy (%)", "size_kb": "Size (KiB)"})


def _long(rows):
    base = {"study": "s", "table": "q", "dataset": "d", "n": 5, "scale": "laptop", "paper_value": float("nan"),
            "paper_source": float("nan"), "interval": "t", "commits": "abcdef1234567890", "dirty": False,
            "machines": "Test CPU"}
    return pd.DataFrame([{**base, **r} for r in rows])


def _row(method, setting, metric, mean, half=1.0, **extra):
    return {"method": method, "setting": setting, "metric": metric, "mean": mean, "ci95_low": mean - half,
            "ci95_high": mean + half, **extra}


def _lines(fig):
    """(label, x data) of every drawn data line with a legend entry."""
    legend = fig.legends[0] if fig.legends else None
    labels = [t.get_text() for t in legend.get_texts()] if legend else []
    lines = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_linestyle() != "None" and len(ln.get_xdata()) > 1]
    return labels, lines


def test_a_line_joins_one_setting_family_only():
    """PTQ per-channel and per-tensor are two lines; ternary and calibration variants join neither."""
    long = _long([_row("ptq", s, "accuracy", acc) for s, acc in
                  (("w2a2-channel", 60), ("w4a4-channel", 80), ("w8a8-channel", 90), ("w4a4-tensor", 75),
                   ("w8a8-tensor", 89), ("wta4-channel", 70), ("w4a4-channel-minmax", 50))])
    spec = FigureSpec("bits", x="setting", y="accuracy", settings=EQUAL_BITS, x_title="Bits", logx=2)
    fig = figure(long, spec, TABLE)
    labels, lines = _lines(fig)
    assert labels == ["ptq (channel)", "ptq (tensor)"]
    assert sorted(tuple(ln.get_xdata()) for ln in lines) == [(2.0, 4.0, 8.0), (4.0, 8.0)]
    assert sorted(tuple(ln.get_ydata()) for ln in lines) == [(60, 80, 90), (75, 89)]
    plt.close(fig)


def test_log_axes_read_plain_numbers_without_overlap():
    long = _long([_row("ptq", f"w{b}a{b}-channel", "accuracy", 50 + b) for b in (2, 3, 4, 5, 6, 7, 8)])
    spec = FigureSpec("bits", x="setting", y="accuracy", settings=EQUAL_BITS, x_title="Bits", logx=2)
    fig = figure(long, spec, TABLE)
    shown = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_visible() and t.get_text()]
    assert shown and all(text.isdigit() for text in shown), shown  # "4", never "4×10⁰"
    assert overlapping_ticks(fig) == []
    plt.close(fig)


def test_intervals_are_clipped_to_the_valid_range_when_drawn_never_in_the_table():
    long = _long([_row("fp32", "float", "accuracy", 99.0, half=3.0), _row("fp32", "float", "size_kb", 10.0, half=0)])
    spec = FigureSpec("acc", x="size_kb", y="accuracy", y_range=(0, 100))
    fig = figure(long, spec, TABLE)
    caps = [max(ln.get_ydata()) for ln in fig.axes[0].get_lines() if ln.get_marker() == "_"]
    assert caps and max(caps) == pytest.approx(100.0)
    assert long["ci95_high"].max() == pytest.approx(102.0)
    plt.close(fig)


def test_paper_numbers_are_hollow_markers_and_the_reference_a_dashed_line():
    long = _long([_row("ptq", "w4a4-channel", "accuracy", 80, paper_value=85.0, paper_source="Paper 2020"),
                  _row("ptq", "w8a8-channel", "accuracy", 90), _row("fp32", "float", "accuracy", 92)])
    spec = FigureSpec("bits", x="setting", y="accuracy", settings=EQUAL_BITS, x_title="Bits",
                      reference=("fp32", "float"))
    fig = figure(long, spec, TABLE)
    labels, _ = _lines(fig)
    assert "paper's number (hollow)" in labels and "fp32 (float)" in labels
    hollow = [ln for ln in fig.axes[0].get_lines() if ln.get_markerfacecolor() == "none"]
    assert [(tuple(ln.get_xdata()), tuple(ln.get_ydata())) for ln in hollow] == [((4.0,), (85.0,))]
    plt.close(fig)


def test_the_stamp_names_scale_n_commit_and_cpu():
    long = _long([_row("ptq", "w4a4-channel", "accuracy", 80), _row("ptq", "w8a8-channel", "accuracy", 90)])
    fig = figure(long, FigureSpec("bits", x="setting", y="accuracy", settings=EQUAL_BITS, x_title="Bits"), TABLE)
    texts = [t.get_text() for t in fig.texts]
    assert "laptop · n = 5 · commit abcdef123456 · Test CPU" in texts
    plt.close(fig)


def test_forest_rows_are_the_paired_differences_with_their_arm():
    table = TableSpec(name="m", title="M", metrics={"acc_1shot": "1-shot (%)"})
    long = _long([_row("protonet", "baseline", "acc_1shot", 70), _row("protonet", "Δ cutmix − baseline (paired)",
                  "acc_1shot", -1.0), _row("protonet", "Δ mixup − baseline (paired)", "acc_1shot", 2.0)])
    fig = figure(long, FigureSpec("f", kind="forest", settings=r"Δ.*", y="acc_1shot"), table)
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks == ["protonet cutmix · 1-shot (%)", "protonet mixup · 1-shot (%)"]
    plt.close(fig)


def _points_x(ax) -> dict[str, float]:
    """Colour -> x of each point drawn with its interval in a points panel."""
    return {c.lines[0].get_color(): float(c.lines[0].get_xdata()[0]) for c in ax.containers}


def test_points_keep_one_place_per_method_across_the_panel_and_its_secondary_panel():
    """A method with no cell in the first panel (it never reached the target) leaves its place empty
    there and takes the same place in the secondary panel, titled by secondary_title."""
    table = TableSpec(name="t", title="T", metrics={"gflops": "GFLOPs", "reached": "Seeds reaching target"})
    long = _long([_row("adam", "grid3", "gflops", 5.0), _row("samuel", "k3", "gflops", 6.0),
                  _row("adam", "grid3", "reached", 1.0, half=0.0), _row("npacs", "lr", "reached", 0.0, half=0.0),
                  _row("samuel", "k3", "reached", 0.6, half=0.7)])
    spec = FigureSpec("f", kind="points", y="gflops", secondary=("reached",), secondary_title="Seeds reaching target",
                      secondary_range=(0, 1))
    fig = figure(long, spec, table)
    top, bottom = fig.axes[:2]
    assert bottom.get_ylabel() == "Seeds reaching target"
    assert [t.get_text() for t in bottom.get_xticklabels()] == ["Seeds reaching target"]
    above, below = _points_x(top), _points_x(bottom)
    assert len(above) == 2 and len(below) == 3
    assert all(below[colour] == x for colour, x in above.items())
    caps = [max(ln.get_ydata()) for ln in bottom.get_lines() if ln.get_marker() == "_"]
    assert max(caps) == pytest.approx(1.0)  # 0.6 ± 0.7 clipped to the secondary range when drawn
    assert overlapping_ticks(fig) == []
    plt.close(fig)


def test_points_on_a_log_y_axis_read_plain_numbers():
    table = TableSpec(name="c", title="C", metrics={"cell_s": "Per-cell (s)", "row_s": "Row text (s)"})
    long = _long([_row("embed", "minilm", m, v, half=float("nan"), dataset=d)
                  for d, cell, row in (("adult", 3.9, 23.0), ("votes", 0.07, 2.1), ("wine", 2.1, 2.9))
                  for m, v in (("cell_s", cell), ("row_s", row))])
    spec = FigureSpec("f", kind="points", y=("cell_s", "row_s"), hue="dataset", facet=None, logy=10,
                      y_title="Embedding time (s)")
    fig = figure(long, spec, table)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and len(_points_x(ax)) == 3
    shown = [t.get_text() for t in ax.get_yticklabels() if t.get_visible() and t.get_text()]
    assert shown and all("×" not in text and "^" not in text for text in shown), shown
    assert overlapping_ticks(fig) == []
    plt.close(fig)


def test_figure_specs_reject_what_they_cannot_draw():
    with pytest.raises(ValueError, match="kind"):
        FigureSpec("f", y="a", x="b", kind="pie")
    with pytest.raises(ValueError, match=r"\(\?P<x>"):
        FigureSpec("f", y="a", x="setting", settings=r"w\d+", x_title="bits")
    with pytest.raises(ValueError, match="y_title"):
        FigureSpec("f", y=("a", "b"), x="c")
    with pytest.raises(ValueError, match="line or points"):
        FigureSpec("f", kind="forest", y="a", settings="Δ.*", secondary=("b",), secondary_title="B")
    with pytest.raises(ValueError, match="log y"):
        FigureSpec("f", y="a", x="b", logy=10)


def test_table_pages_show_their_figures_inline():
    spec = TableSpec(name="q", title="Q", metrics={"accuracy": "Acc"},
                     figures=(FigureSpec("bits", x="setting", y="accuracy", settings=EQUAL_BITS, x_title="Bits",
                                         title="Accuracy against bits"),))
    text = render.markdown(_long([_row("ptq", "w4a4-channel", "accuracy", 80)]), spec)
    assert "![Accuracy against bits](figures/q-bits.png)" in text and "(figures/q-bits.pdf)" in text


def _declared():
    """Every declared figure drawn from table cells (figures of per-run points: test_run_figures.py)."""
    for name in available_studies():
        study = load_study(name)
        for table in study.tables:
            for spec in table.figures:
                if not spec.from_runs:
                    yield pytest.param(name, table, spec, id=f"{table.name}-{spec.name}")


@pytest.mark.parametrize("study,table,spec", list(_declared()))
def test_every_declared_figure_renders_from_its_laptop_table(study, table, spec, tmp_path):
    """Drawn from the committed laptop CSV: titles from column titles, no overlapping tick labels, PNG + PDF."""
    assert set(spec.metrics) <= set(table.metrics), f"{table.name}-{spec.name} reads metrics the table lacks"
    csv = ROOT / "reports" / "laptop" / f"{table.name}.csv"
    if not csv.exists():
        pytest.skip(f"{csv} is not committed yet (a new table before its first laptop run)")
    long = pd.read_csv(csv)
    fig = figure(long, spec, table)
    allowed = set(table.metrics.values()) | {spec.x_title, spec.y_title, spec.secondary_title, ""}
    for ax in fig.axes:
        assert ax.get_xlabel() in allowed and ax.get_ylabel() in allowed, (ax.get_xlabel(), ax.get_ylabel())
    assert overlapping_ticks(fig) == []
    plt.close(fig)
    out = tmp_path / f"{table.name}-{spec.name}.png"
    draw(long, spec, table, out)
    assert out.stat().st_size > 0 and out.with_suffix(".pdf").stat().st_size > 0


def test_every_claim_bearing_table_has_a_figure():
    """Issue 21: a table a claim is tested on is shown as a figure too."""
    for name in available_studies():
        study = load_study(name)
        bare = sorted({claim.table for claim in study.claims()} - {t.name for t in study.tables if t.figures})
        assert not bare, f"study '{name}': claim-bearing tables without a figure: {bare}"


def test_methods_that_share_a_table_have_different_colours():
    for name in available_studies():
        for table in load_study(name).tables:
            csv = ROOT / "reports" / "laptop" / f"{table.name}.csv"
            if not csv.exists():
                continue
            methods = [m for m in pd.read_csv(csv)["method"].unique() if m in METHOD_STYLE]
            colours = [METHOD_STYLE[m][0] for m in methods]
            assert len(set(colours)) == len(colours), (table.name, dict(zip(methods, colours)))
