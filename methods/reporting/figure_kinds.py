"""The kinds of figure: one function each, drawing one panel.

Each function takes the matplotlib axes, the panel's data, the panel's full long rows (paper
numbers and references), the figure's spec and the table's spec, and returns the legend entries
it drew (label -> handle). The data of ``line``, ``points``, ``forest`` and ``cd`` are the panel's
measured cells (one row per dataset, method, setting and metric;
:func:`methods.reporting.figures.cells`), their axis titles the table's column titles; the data of
``scatter`` and ``curve`` are the study's per-run points (:meth:`methods.core.study.Study.figure_points`),
whose axis titles :func:`methods.reporting.figures.run_figure` sets from the spec.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from methods.core.specs import FigureSpec, TableSpec
from methods.core.stats import t_interval

from .figure_style import LINE_STYLES, method_style, plain_log_axis
from .rank_tests import cliques, nemenyi_cd

PAPER_LABEL = "paper's number (hollow)"


def _interval(mean: float, low: float, high: float, valid: tuple[float, float] | None) -> tuple[float, float]:
    """Lower and upper error-bar lengths; the interval clipped to the metric's valid range (drawing only)."""
    if math.isnan(low) or math.isnan(high):
        return 0.0, 0.0
    if valid is not None:
        low, high = max(low, valid[0]), min(high, valid[1])
    return max(mean - low, 0.0), max(high - mean, 0.0)


def _settings_match(setting: str, pattern: re.Pattern | None):
    return pattern.fullmatch(str(setting)) if pattern is not None else None


def _title(table: TableSpec, metric: str) -> str:
    return table.metrics[metric]


def line(ax, rows: pd.DataFrame, long: pd.DataFrame, spec: FigureSpec, table: TableSpec, styles: dict) -> dict:
    """``y`` against ordered ``x``; one line per hue value and setting family (never across families)."""
    pattern = re.compile(spec.settings) if spec.settings else None
    x_of_run = {}
    if spec.x != "setting":
        for _, r in rows[rows["metric"] == spec.x].iterrows():
            x_of_run[(r["dataset"], r["method"], r["setting"])] = r["mean"]

    def x_value(r) -> float | None:
        match = _settings_match(r["setting"], pattern)
        if pattern is not None and match is None:
            return None
        if spec.x == "setting":
            return float(match.group("x"))
        return x_of_run.get((r["dataset"], r["method"], r["setting"]))

    def family(r) -> str:
        match = _settings_match(r["setting"], pattern)
        return match.group("family") if match is not None and "family" in match.groupdict() else ""

    several = len(spec.y_metrics) > 1
    series: dict[tuple[str, str, str], list[tuple[float, float, float, float]]] = {}
    for _, r in rows[rows["metric"].isin(spec.y_metrics)].iterrows():
        x = x_value(r)
        if x is None or (isinstance(x, float) and math.isnan(x)):
            continue
        hue = r["metric"] if spec.hue == "metric" else str(r[spec.hue])
        series.setdefault((hue, family(r), r["metric"]), []).append((x, r["mean"], r["ci95_low"], r["ci95_high"]))
    families = sorted({f for _, f, _ in series})
    handles = {}
    xs_all = []
    for (hue, fam, metric), points in sorted(series.items()):
        points.sort()
        xs = [p[0] for p in points]
        xs_all += xs
        errors = np.array([_interval(m, lo, hi, spec.y_range) for _, m, lo, hi in points]).T
        colour, marker = styles[hue]
        style = LINE_STYLES[(families.index(fam) if len(families) > 1 else
                             spec.y_metrics.index(metric) if several and spec.hue != "metric" else 0) % len(LINE_STYLES)]
        label = _title(table, hue) if spec.hue == "metric" else hue
        if several and spec.hue != "metric":
            label += f", {_title(table, metric)}"
        if fam:
            label += f" ({fam})"
        handles[label] = ax.errorbar(xs, [p[1] for p in points], yerr=errors, color=colour, marker=marker,
                                     linestyle=style, capsize=2.5, markersize=4, linewidth=1.2)
    if spec.front:
        handles.update(_front(ax, [(p[0], p[1]) for pts in series.values() for p in pts]))
    handles.update(_paper_markers(ax, long, spec, pattern, x_value, styles))
    handles.update(_reference(ax, long, spec))
    if spec.logx and xs_all:
        ax.set_xscale("log", base=spec.logx)
        plain_log_axis(ax.xaxis, spec.logx, xs_all)
    ax.set_xlabel(spec.x_title or _title(table, spec.x), fontsize=8)
    ax.set_ylabel(spec.y_title or _title(table, spec.y_metrics[0]), fontsize=8)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=7)
    return handles


FRONT_LABEL = "Pareto front (lower x, higher y)"


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats in both lower x and higher y, by increasing x."""
    front, best = [], -math.inf
    for x, y in sorted(points, key=lambda p: (p[0], -p[1])):
        if y > best:
            front.append((x, y))
            best = y
    return front


def _front(ax, points: list[tuple[float, float]]) -> dict:
    """The Pareto front as a grey step line behind the points."""
    front = pareto_front([(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)])
    if not front:
        return {}
    handle = ax.step([x for x, _ in front], [y for _, y in front], where="post", color="#999999", linewidth=1,
                     linestyle="-", zorder=0)[0]
    return {FRONT_LABEL: handle}


def _paper_markers(ax, long: pd.DataFrame, spec: FigureSpec, pattern, x_value, styles) -> dict:
    """The paper's numbers as hollow markers, at the x the setting gives (line figures over settings)."""
    if spec.x != "setting" or "paper_value" not in long:
        return {}
    rows = long[long["metric"].isin(spec.y_metrics) & long["paper_value"].notna()]
    handle = None
    for _, r in rows.drop_duplicates(["method", "setting", "metric"]).iterrows():
        x = x_value(r)
        hue = r["metric"] if spec.hue == "metric" else str(r[spec.hue])
        if x is None or hue not in styles:
            continue
        colour, marker = styles[hue]
        handle = ax.plot([x], [r["paper_value"]], marker=marker, markersize=7, markerfacecolor="none",
                         markeredgecolor=colour, linestyle="none")[0]
    return {PAPER_LABEL: handle} if handle is not None else {}


def _reference(ax, long: pd.DataFrame, spec: FigureSpec) -> dict:
    """The reference row (fp32, dense) as a dashed horizontal line."""
    if spec.reference is None:
        return {}
    method, setting = spec.reference
    rows = long[(long["method"] == method) & (long["setting"] == setting) & (long["metric"] == spec.y_metrics[0])
                & (long["n"] > 0)]
    if rows.empty:
        return {}
    colour, _ = method_style(method)
    return {f"{method} ({setting})": ax.axhline(rows["mean"].iloc[0], color=colour, linestyle="--", linewidth=1)}


def points(ax, rows: pd.DataFrame, long: pd.DataFrame, spec: FigureSpec, table: TableSpec, styles: dict) -> dict:
    """Each y metric a category on x; one point with its interval per hue value, the paper's number beside;
    with ``logy`` a log y axis labelled with plain numbers. Each (hue, setting) measured in the panel's
    part of the table keeps one place in every panel and category, left empty where it has no cell
    (a method that never reached the target); hue values with no cell in the whole figure take none."""
    metrics = list(spec.y_metrics)
    measured = long[long["n"] > 0]
    if spec.methods is not None:
        measured = measured[measured["method"].isin(spec.methods)]
    keys = sorted({(str(h), str(s)) for h, s in zip(measured[spec.hue], measured["setting"]) if str(h) in styles})
    several_settings = len({s for _, s in keys}) > 1
    width = 0.7 / max(len(keys), 1)
    handles = {}
    for i, (hue, setting) in enumerate(keys):
        part = rows[(rows[spec.hue].astype(str) == hue) & (rows["setting"].astype(str) == setting)]
        offset = (i - (len(keys) - 1) / 2) * width
        colour, marker = styles[hue]
        label = f"{hue} {setting}" if several_settings else hue
        for j, metric in enumerate(metrics):
            cell = part[part["metric"] == metric]
            if cell.empty:
                continue
            r = cell.iloc[0]
            err = np.array([_interval(r["mean"], r["ci95_low"], r["ci95_high"], spec.y_range)]).T
            handles[label] = ax.errorbar([j + offset], [r["mean"]], yerr=err, color=colour, marker=marker,
                                         linestyle="none", capsize=2.5, markersize=4)
            paper = long[(long[spec.hue].astype(str) == hue) & (long["setting"].astype(str) == setting)
                         & (long["metric"] == metric) & long["paper_value"].notna()]
            if not paper.empty:
                handles[PAPER_LABEL] = ax.plot([j + offset + width / 3], [paper["paper_value"].iloc[0]], marker=marker,
                                               markersize=7, markerfacecolor="none", markeredgecolor=colour,
                                               linestyle="none")[0]
    if spec.logy:
        ax.set_yscale("log", base=spec.logy)
        plain_log_axis(ax.yaxis, spec.logy, rows.loc[rows["metric"].isin(metrics), "mean"])
    ax.set_xticks(range(len(metrics)), [_title(table, m) for m in metrics], rotation=20, ha="right", fontsize=7)
    ax.set_ylabel(spec.y_title or (_title(table, metrics[0]) if len(metrics) == 1 else "value"), fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    ax.tick_params(labelsize=7)
    return handles


def forest(ax, rows: pd.DataFrame, long: pd.DataFrame, spec: FigureSpec, table: TableSpec, styles: dict) -> dict:
    """Paired differences (rows whose setting matches ``settings``) as horizontal intervals around 0."""
    pattern = re.compile(spec.settings)
    picked = rows[rows["setting"].astype(str).map(lambda s: pattern.fullmatch(s) is not None)
                  & rows["metric"].isin(spec.y_metrics)]
    picked = picked.assign(_order=picked["metric"].map(list(spec.y_metrics).index)).sort_values(
        ["method", "setting", "_order"])
    several_settings = picked["setting"].nunique() > 1
    labels, handles = [], {}
    for i, (_, r) in enumerate(picked.iterrows()):
        colour, marker = styles[str(r[spec.hue])]
        err = np.array([_interval(r["mean"], r["ci95_low"], r["ci95_high"], None)]).T
        handles[str(r[spec.hue])] = ax.errorbar([r["mean"]], [i], xerr=err, color=colour, marker=marker,
                                                linestyle="none", capsize=2.5, markersize=4)
        setting = f" {_comparison(r['setting'])}" if several_settings else ""
        labels.append(f"{r[spec.hue]}{setting} · {_title(table, r['metric'])}")
    ax.axvline(0, color="#333333", linewidth=0.8)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(spec.y_title or _title(table, spec.y_metrics[0]), fontsize=8)
    ax.grid(alpha=0.3, axis="x")
    ax.tick_params(labelsize=7)
    return handles


def _comparison(setting: str) -> str:
    """``Δ query-cutmix − baseline (paired)`` -> ``query-cutmix``: the compared arm of a paired row."""
    text = re.sub(r"^Δ\s*", "", str(setting))
    return re.sub(r"\s*−.*$", "", text)


def cd(ax, rows: pd.DataFrame, long: pd.DataFrame, spec: FigureSpec, table: TableSpec, styles: dict) -> dict:
    """A critical-difference diagram: average ranks on a line, groups within Nemenyi's CD joined by a bar."""
    ranks_rows = rows[(rows["metric"] == spec.y_metrics[0]) & (rows["dataset"] == "average")]
    ranks = {str(r["method"]): float(r["mean"]) for _, r in ranks_rows.iterrows()}
    per_dataset = long[(long["metric"] == spec.x) & (long["n"] > 0) & (long["dataset"] != "average")]
    n_datasets = per_dataset["dataset"].nunique()
    if len(ranks) < 2 or n_datasets < 2:
        ax.text(0.5, 0.5, "fewer than two methods or datasets ranked", ha="center", transform=ax.transAxes)
        ax.set_axis_off()
        return {}
    k = len(ranks)
    diff = nemenyi_cd(k, n_datasets)
    ax.set_xlim(k + 0.5, 0.5)  # best rank on the right, as in Demšar's Figure 1
    ax.set_ylim(-1.0 - 0.35 * k / 2, 1.45)
    ax.hlines(0.6, 1, k, color="black", linewidth=1)
    for r in range(1, k + 1):
        ax.vlines(r, 0.6, 0.68, color="black", linewidth=1)
        ax.text(r, 0.74, str(r), ha="center", va="bottom", fontsize=7)
    ax.hlines(1.12, 1, 1 + diff, color="#333333", linewidth=2)
    ax.text(1 + diff / 2, 1.18, f"CD = {diff:.2f} (Nemenyi, α = 0.05, N = {n_datasets} datasets)", ha="center",
            va="bottom", fontsize=7)
    ordered = sorted(ranks, key=ranks.get)
    half = math.ceil(k / 2)
    for i, method in enumerate(ordered):
        left = i >= half  # worse half labelled on the left, better half on the right
        level = -0.35 * ((k - 1 - i) if left else i) - 0.4
        edge = k + 0.4 if left else 0.6
        ax.plot([ranks[method]] * 2 + [edge], [0.6, level, level], color=styles[method][0], linewidth=1)
        ax.text(edge, level, f"{method} ({ranks[method]:.2f})", ha="right" if left else "left", va="center",
                fontsize=7)
    for g, group in enumerate(cliques(ranks, diff)):
        ax.hlines(0.45 - 0.08 * g, ranks[group[0]] - 0.05, ranks[group[-1]] + 0.05, color="black", linewidth=3)
    ax.set_axis_off()
    ax.set_xlabel(_title(table, spec.y_metrics[0]))
    return {}


def scatter(ax, part: pd.DataFrame, long: pd.DataFrame, spec: FigureSpec, table: TableSpec, styles: dict) -> dict:
    """One point per (x, y) pair, coloured by series. With ``logx``, a panel whose positive x span more
    than two decades (#params, synflow) gets a log x axis, or a symmetric-log one (linear below the
    smallest positive x) when some x are zero (synflow of a cell without a path); else a linear one."""
    handles = {}
    for series, group in part.groupby("series", sort=True):
        colour, marker = styles[str(series)]
        handles[str(series)] = ax.scatter(group["x"], group["y"], s=12, color=colour, marker=marker, alpha=0.6,
                                          linewidths=0)
    xs = part["x"].to_numpy(dtype=float)
    xs = xs[np.isfinite(xs)]
    positive = xs[xs > 0]
    if spec.logx and len(positive) and xs.min() >= 0 and positive.max() / positive.min() > 100:
        if xs.min() > 0:
            ax.set_xscale("log", base=spec.logx)
            plain_log_axis(ax.xaxis, spec.logx, xs)
        else:
            ax.set_xscale("symlog", base=spec.logx, linthresh=float(positive.min()))
            ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=7)
    return handles


def curve(ax, part: pd.DataFrame, long: pd.DataFrame, spec: FigureSpec, table: TableSpec, styles: dict) -> dict:
    """Mean of ``y`` over seeds against ``x``, one line per series, its 95% t interval over seeds as a band
    (clipped to ``y_range``; no band where fewer than two seeds reach that x). The y axis spans the bands:
    with two seeds (t = 12.7) they are wide, and the axis shows it."""
    handles = {}
    for series, group in part.groupby("series", sort=True):
        colour, marker = styles[str(series)]
        steps = sorted(group["x"].unique())
        cells = [t_interval(group.loc[group["x"] == x, "y"]) for x in steps]
        means = [c.mean for c in cells]
        handles[str(series)] = ax.plot(steps, means, color=colour, marker=marker, markersize=3, linewidth=1.2)[0]
        low, high = np.array([c.low for c in cells]), np.array([c.high for c in cells])
        if spec.y_range is not None:  # clipped to the valid range when drawn
            low, high = np.clip(low, *spec.y_range), np.clip(high, *spec.y_range)
        if np.isfinite(low).any():
            ax.fill_between(steps, low, high, color=colour, alpha=0.2, linewidth=0)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=7)
    return handles


DRAW = {"line": line, "points": points, "forest": forest, "cd": cd, "scatter": scatter, "curve": curve}
