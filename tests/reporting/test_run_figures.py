"""Figures of per-run points (scatter, curve) and the Pareto front of cost-against-quality lines:
the points come from the study's runs, the panels, bands, fronts and stamps are checked on fixtures."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

from methods.architecture.jobs import DATASETS  # noqa: E402
from methods.architecture.ranking import correlations  # noqa: E402
from methods.architecture.report import scatter_points  # noqa: E402
from methods.architecture.study import RANKING  # noqa: E402
from methods.architecture.study import STUDY as ARCHITECTURE  # noqa: E402
from methods.core.specs import FigureSpec, TableSpec  # noqa: E402
from methods.metalearning.curves import curve_points  # noqa: E402
from methods.metalearning.jobs import CURVE_ACCURACY, CURVE_EPISODE, validation_curve  # noqa: E402
from methods.metalearning.study import STUDY as METALEARNING  # noqa: E402
from methods.reporting.figure_kinds import FRONT_LABEL, pareto_front  # noqa: E402
from methods.reporting.figure_style import overlapping_ticks  # noqa: E402
from methods.reporting.figures import draw, figure, run_figure  # noqa: E402

TABLE = TableSpec(name="t", title="T", metrics={"spearman": "Spearman ρ", "cpu_s": "CPU s / cell"})
LONG = pd.DataFrame([{"dataset": "d", "method": "m", "setting": "s", "metric": "spearman", "mean": 0.5, "n": 7,
                      "scale": "smoke", "commits": "0123456789abcdef", "machines": "Test CPU", "interval": "t"}])


def _run_rows(dataset, method, setting, seed, metric, values):
    return [{"study": "s", "dataset": dataset, "method": method, "setting": setting, "seed": seed, "run_id": "r",
             "metric": metric, "value": v, "kind": "quality", "sample": i} for i, v in enumerate(values)]


def test_the_pareto_front_keeps_the_points_nothing_beats_in_cost_and_quality():
    points = [(0.1, 0.5), (0.2, 0.7), (0.3, 0.6), (0.05, 0.4), (0.4, 0.9), (0.2, 0.65)]
    assert pareto_front(points) == [(0.05, 0.4), (0.1, 0.5), (0.2, 0.7), (0.4, 0.9)]


def test_a_cost_figure_with_front_draws_it_through_the_non_dominated_points():
    rows = []
    for method, cost, rho in (("a", 0.01, 0.6), ("b", 0.1, 0.8), ("c", 0.2, 0.7)):
        for metric, value in (("cpu_s", cost), ("spearman", rho)):
            rows.append({"dataset": "d", "method": method, "setting": "s", "metric": metric, "mean": value,
                         "ci95_low": value, "ci95_high": value, "n": 5, "scale": "laptop", "interval": "t"})
    spec = FigureSpec("cost", x="cpu_s", y="spearman", logx=10, front=True)
    fig = figure(pd.DataFrame(rows), spec, TABLE)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    front = next(ln for ln in fig.axes[0].get_lines() if ln.get_drawstyle() == "steps-post")
    assert FRONT_LABEL in labels
    assert list(front.get_xdata()) == [0.01, 0.1] and list(front.get_ydata()) == [0.6, 0.8]
    plt.close(fig)
    with pytest.raises(ValueError, match="Pareto"):
        FigureSpec("f", x="setting", y="a", settings=r"(?P<x>\d+)", x_title="bits", front=True)


def test_scatter_panels_are_rows_by_facets_with_the_studys_titles_and_spec_axes():
    rng = np.random.default_rng(0)
    rows = [{"row": proxy, "facet": dataset, "series": proxy, "x": x, "y": 50 + 10 * rng.random(), "seed": 0,
             "title": f"{proxy}, {dataset}: ρ = 0.5"}
            for proxy, scale in (("params", 1e6), ("nasgraph", 1.0)) for dataset in ("c10", "c100")
            for x in scale * np.logspace(0, 3, 30)]
    spec = FigureSpec("scatter", kind="scatter", y="accuracy", logx=10, x_title="Proxy score", y_title="Accuracy (%)")
    fig = run_figure(pd.DataFrame(rows), LONG, spec, TABLE)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["params, c10: ρ = 0.5", "params, c100: ρ = 0.5",
                                               "nasgraph, c10: ρ = 0.5", "nasgraph, c100: ρ = 0.5"]
    assert [ax.get_xlabel() for ax in axes] == ["", "", "Proxy score", "Proxy score"]
    assert [ax.get_ylabel() for ax in axes] == ["Accuracy (%)", "", "Accuracy (%)", ""]
    assert all(ax.get_xscale() == "log" for ax in axes)  # three decades of positive scores
    assert "smoke · n = 1 · commit 0123456789ab · Test CPU" in [t.get_text() for t in fig.texts]
    assert overlapping_ticks(fig) == []
    plt.close(fig)


def test_a_curve_is_the_mean_over_seeds_with_its_t_band_and_no_band_for_one_seed():
    rows = [{"row": "glyphs", "facet": "protonet", "series": setting, "x": x, "y": y + shift, "seed": seed}
            for setting, seeds in (("baseline", (0, 1)), ("maxup", (0,)))
            for seed, shift in zip(seeds, (0.0, 4.0))
            for x, y in ((10, 40.0), (20, 50.0), (30, 55.0))]
    spec = FigureSpec("curves", kind="curve", y="validation accuracy", y_range=(0, 100), x_title="Episodes",
                      y_title="Validation (%)")
    fig = run_figure(pd.DataFrame(rows), LONG, spec, TABLE)
    ax = fig.axes[0]
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    means = [tuple(ln.get_ydata()) for ln in ax.get_lines()]
    assert (42.0, 52.0, 57.0) in means and (40.0, 50.0, 55.0) in means
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 1, lines  # the one-seed maxup curve has no band
    low, high = bands[0].get_paths()[0].vertices[:, 1].min(), bands[0].get_paths()[0].vertices[:, 1].max()
    half = 12.706 * np.std([40.0, 44.0], ddof=1) / np.sqrt(2)  # t(0.975, 1 dof)
    assert low == pytest.approx(max(42.0 - half, 0.0), abs=1e-3)
    assert high == pytest.approx(min(57 + half, 100), abs=1e-3)
    plt.close(fig)


def test_per_run_figures_need_their_points_and_titles():
    spec = FigureSpec("curves", kind="curve", y="v", x_title="Episodes", y_title="Validation (%)")
    with pytest.raises(ValueError, match="points"):
        draw(LONG, spec, TABLE, "unused.png")
    with pytest.raises(ValueError, match="x_title"):
        FigureSpec("curves", kind="scatter", y="v")


def _architecture_runs():
    """Two seeds of a ranking run: 6 cells each, 4 of them data-scored, one jacov value undefined."""
    rng = np.random.default_rng(1)
    rows = []
    for seed in (0, 1):
        scored = [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
        rows += _run_rows("nasbench201", "ranking", "all", seed, "data_scored", scored)
        for dataset in DATASETS:
            rows += _run_rows("nasbench201", "ranking", "all", seed, f"accuracy/{dataset}", 60 + 30 * rng.random(6))
        rows += _run_rows("nasbench201", "ranking", "all", seed, "proxy/nasgraph", rng.random(6))
        rows += _run_rows("nasbench201", "ranking", "all", seed, "proxy/jacov",
                          [np.nan if seed == 0 else -1.0, *rng.random(3), np.nan, np.nan])
    return pd.DataFrame(rows)


def test_architecture_scatter_draws_each_scored_cell_with_the_tables_rho_in_the_title():
    runs = _architecture_runs()
    points = scatter_points(runs, ("nasgraph", "jacov"))
    nasgraph = points[(points["row"] == "nasgraph") & (points["facet"] == "cifar100")]
    jacov = points[(points["row"] == "jacov") & (points["facet"] == "cifar100")]
    assert len(nasgraph) == 12 and sorted(nasgraph["seed"].unique()) == [0, 1]
    assert len(jacov) == 7  # 2 x 4 data-scored cells, less seed 0's undefined value
    pooled = {m: runs[runs["metric"] == m].sort_values(["seed", "sample"])["value"].to_numpy()
              for m in ("proxy/jacov", "accuracy/cifar100", "data_scored")}
    on = pooled["data_scored"].astype(bool)
    rho = correlations(pooled["proxy/jacov"][on], pooled["accuracy/cifar100"][on])["spearman"]
    assert jacov["title"].iloc[0] == f"jacov, cifar100: ρ = {rho:.3f} (n = 8)"
    spec = ARCHITECTURE.table(RANKING)
    declared = next(f for f in spec.figures if f.from_runs)
    fig = run_figure(scatter_points(runs, declared.methods[:1] + ("jacov",)), LONG, declared, spec)
    assert len(fig.axes) == 2 * len(DATASETS) and overlapping_ticks(fig) == []
    plt.close(fig)


def test_metalearning_curves_come_from_train_json_through_the_runs(tmp_path):
    (tmp_path / "train.json").write_text(json.dumps({"summary": {"validation": [[10, 40.0], [20, 55.5]]}}))
    assert validation_curve(tmp_path) == {CURVE_EPISODE: [10.0, 20.0], CURVE_ACCURACY: [40.0, 55.5]}
    (tmp_path / "train.json").write_text(json.dumps({"summary": {"validation": []}}))
    assert validation_curve(tmp_path) == {}
    rows = []
    for setting, seed, accuracy in (("baseline", 0, (40.0, 50.0)), ("baseline", 1, (42.0, 48.0)),
                                    ("maxup", 0, (41.0, 56.0)), ("query-cutmix", 0, (1.0, 2.0))):
        rows += _run_rows("glyphs", "protonet", setting, seed, CURVE_EPISODE, (10.0, 20.0))
        rows += _run_rows("glyphs", "protonet", setting, seed, CURVE_ACCURACY, accuracy)
        rows += _run_rows("glyphs", "protonet", setting, seed, "acc_1shot", (70.0,) * 5)
    spec = METALEARNING.table("meta_maxup")
    declared = next(f for f in spec.figures if f.from_runs)
    points = METALEARNING.figure_points(spec, declared, pd.DataFrame(rows))
    assert sorted(points["series"].unique()) == ["baseline", "maxup"]  # the settings pattern leaves cutmix out
    baseline = points[(points["series"] == "baseline") & (points["seed"] == 1)].sort_values("x")
    assert list(zip(baseline["x"], baseline["y"])) == [(10.0, 42.0), (20.0, 48.0)]
    assert set(points["row"]) == {"glyphs"} and set(points["facet"]) == {"protonet"}
    assert curve_points(pd.DataFrame(rows), ("omniglot",), None, None).empty
    omniglot = METALEARNING.table("omniglot_protonet")
    shots = [r for shot in ("1shot", "5shot")
             for r in _run_rows("omniglot", "protonet", shot, 0, CURVE_EPISODE, (100.0,))
             + _run_rows("omniglot", "protonet", shot, 0, CURVE_ACCURACY, (90.0,))]
    on_omniglot = METALEARNING.figure_points(omniglot, next(f for f in omniglot.figures if f.from_runs),
                                             pd.DataFrame(rows + shots))
    assert sorted(on_omniglot["series"]) == ["1shot", "5shot"] and set(on_omniglot["row"]) == {"omniglot"}
    fig = run_figure(points, LONG, declared, spec)
    assert fig.axes[0].get_xlabel() == declared.x_title and overlapping_ticks(fig) == []
    plt.close(fig)
