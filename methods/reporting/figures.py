"""Figures drawn from a table's long CSV (no retraining needed to restyle a plot).

:func:`draw` lays out one :class:`~methods.core.specs.FigureSpec`: a panel per facet (dataset),
a legend outside the data, the table's column titles on the axes, and a stamp under the plot with
scale, n, commit and CPU, as the tables' footnotes have. It writes a PNG (200 dpi) and a PDF
beside it. The drawing of each kind is in :mod:`methods.reporting.figure_kinds`. Figures of the
kinds that draw per-run points (scatter, curve) get those points from the study
(:meth:`methods.core.study.Study.figure_points`) and are laid out by :func:`run_figure`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from methods.core.atomic import atomic_path
from methods.core.specs import FigureSpec, TableSpec

from . import figure_kinds
from .figure_style import declutter, series_styles


def cells(long: pd.DataFrame, metrics) -> pd.DataFrame:
    """One measured row per (dataset, method, setting, metric): the seed-level one (interval ``t``)
    where a table also carries a pooled per-episode row, else the row with the largest n."""
    rows = long[long["metric"].isin(list(metrics)) & (long["n"] > 0)].copy()
    rows["_seed_level"] = rows["interval"].eq("t")
    rows = rows.sort_values(["_seed_level", "n"], ascending=False)
    return rows.drop_duplicates(["dataset", "method", "setting", "metric"]).drop(columns="_seed_level")


def stamp(long: pd.DataFrame, rows: pd.DataFrame, seeds: int | None = None) -> str:
    """``laptop · n = 5 · commit 6f09d9498d38 · Intel(R) Xeon(R) Processor``; ``seeds`` replaces
    the cells' n (figures of per-run points: n is the number of training seeds)."""
    ns = [seeds] if seeds is not None else sorted({int(n) for n in rows["n"]}) if len(rows) else []
    commits = sorted({c[:12] for text in rows.get("commits", pd.Series(dtype=str)).dropna() for c in str(text).split()})
    machines = sorted({m for text in rows.get("machines", pd.Series(dtype=str)).dropna() for m in str(text).split("; ") if m})
    scale = long["scale"].dropna().iloc[0] if "scale" in long and long["scale"].notna().any() else "?"
    return (f"{scale} · n = {', '.join(map(str, ns)) or '0'} · commit {', '.join(commits) or 'n/a'}"
            f" · {'; '.join(machines) or 'CPU n/a'}")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _finish(fig, handles: dict, title: str, text: str) -> None:
    """Legend outside the data, title, stamp, thinned tick labels."""
    if len(handles) > 1:
        fig.legend(list(handles.values()), list(handles.keys()), loc="outside right center", fontsize=7, frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.text(0.01, 0.01, text, fontsize=6, color="#555555", ha="left", va="bottom")
    declutter(fig)


def run_figure(points: pd.DataFrame, long: pd.DataFrame, spec: FigureSpec, table: TableSpec):
    """The figure of a per-run kind: a panel per (``row``, ``facet``) of the study's ``points``,
    rows and columns in the order the study gives them; stamped with the table's provenance."""
    plt = _pyplot()
    if points.empty:
        raise ValueError(f"figure '{spec.name}' of table '{table.name}': the study derived no points from its runs")
    rows, facets = list(dict.fromkeys(points["row"])), list(dict.fromkeys(points["facet"]))
    fig, axes = plt.subplots(len(rows), len(facets), figsize=(3.2 * len(facets) + 2.2, 2.6 * len(rows) + 0.6),
                             squeeze=False, layout="constrained")
    fig.get_layout_engine().set(rect=(0, 0.05, 1, 0.95))
    styles = series_styles(sorted({str(s) for s in points["series"]}))
    handles = {}
    for i, row in enumerate(rows):
        for j, facet in enumerate(facets):
            part = points[(points["row"] == row) & (points["facet"] == facet)]
            handles.update(figure_kinds.DRAW[spec.kind](axes[i][j], part, long, spec, table, styles))
            axes[i][j].set_xlabel(spec.x_title if i == len(rows) - 1 else "", fontsize=8)
            axes[i][j].set_ylabel(spec.y_title if j == 0 else "", fontsize=8)
            title = part["title"].iloc[0] if "title" in part and len(part) else f"{row} · {facet}"
            axes[i][j].set_title(str(title), fontsize=8)
    _finish(fig, handles, spec.title or table.title, stamp(long, long[long["n"] > 0], int(points["seed"].nunique())))
    return fig


def figure(long: pd.DataFrame, spec: FigureSpec, table: TableSpec):
    """The matplotlib figure of ``spec`` (callers save or inspect it; :func:`draw` does both)."""
    plt = _pyplot()
    unknown = [m for m in spec.metrics if m not in table.metrics]
    if unknown:
        raise ValueError(f"figure '{spec.name}' of table '{table.name}' reads metrics {unknown} the table does not have")
    rows = cells(long, spec.metrics)
    if spec.methods is not None:
        rows = rows[rows["method"].isin(spec.methods)]
    facets = [None] if spec.kind == "cd" or not spec.facet else sorted(rows[spec.facet].unique()) or [None]
    panels = 2 if spec.secondary else 1
    width = 3.6 * len(facets) + 2.2
    fig, axes = plt.subplots(panels, len(facets), figsize=(width, 3.2 * panels + 0.5), squeeze=False,
                             sharex="col" if spec.kind == "line" else "none", layout="constrained")
    fig.get_layout_engine().set(rect=(0, 0.05, 1, 0.95))
    hues = rows["metric"] if spec.hue == "metric" else rows[spec.hue]
    styles = series_styles(sorted({str(h) for h in hues}))  # one colour per series across all panels
    secondary = FigureSpec(spec.name, y=spec.secondary, x=spec.x, kind=spec.kind, hue=spec.hue,
                           settings=spec.settings, logx=spec.logx, y_title=spec.secondary_title, x_title=spec.x_title,
                           y_range=spec.secondary_range) if spec.secondary else None
    handles = {}
    for col, facet in enumerate(facets):
        part = rows if facet is None else rows[rows[spec.facet] == facet]
        reference = long if facet is None else long[long[spec.facet] == facet]
        handles.update(figure_kinds.DRAW[spec.kind](axes[0][col], part, reference, spec, table, styles))
        if secondary is not None:  # the secondary metrics (and a metric x) under the first panel, drawn alike
            below = part[part["metric"].isin(secondary.metrics)]
            handles.update(figure_kinds.DRAW[spec.kind](axes[1][col], below, reference, secondary, table, styles))
            axes[0][col].set_xlabel("")
        if facet is not None:
            axes[0][col].set_title(str(facet), fontsize=9)
    _finish(fig, handles, spec.title or table.title, stamp(long, rows))
    return fig


def draw(long: pd.DataFrame, spec: FigureSpec, table: TableSpec, out: Path, points: pd.DataFrame | None = None) -> None:
    """Write the figure as ``out`` (PNG, 200 dpi) and ``out`` with suffix ``.pdf``; ``points``: the
    study's per-run points, which figures of a per-run kind are drawn from."""
    import matplotlib.pyplot as plt

    if spec.from_runs and points is None:
        raise ValueError(f"figure '{spec.name}' of kind '{spec.kind}' is drawn from the study's points, none given")
    fig = run_figure(points, long, spec, table) if spec.from_runs else figure(long, spec, table)
    for path, fmt, dpi in ((Path(out), "png", 200), (Path(out).with_suffix(".pdf"), "pdf", None)):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi)
    plt.close(fig)
