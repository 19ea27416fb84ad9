"""Render a table's long rows as a paper-style table: Markdown (tabulate) and LaTeX (Styler).

Rows are the table's ``rows`` keys, columns its metrics in order; a cell reads ``mean ± half-width``
(the half-width of the 95% interval). A metric with paper numbers gets a ``(paper)`` column beside
it, with a numbered source in the footnotes. The footnote also gives n, the interval, the scale and
the commit(s) of the runs.
"""

from __future__ import annotations

import math

import pandas as pd

from methods.core.cpu import NOT_SUPPORTED
from methods.core.stats import INTERVAL_TEXT
from methods.core.specs import TableSpec


def format_cell(mean: float, low: float, high: float, decimals: int) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "—"
    text = f"{mean:,.{decimals}f}"
    if not (math.isnan(low) or math.isnan(high)):
        half = (high - low) / 2
        if round(half, decimals) > 0 or decimals > 0:
            text += f" ± {half:,.{decimals}f}"
    return text


def wide(long: pd.DataFrame, spec: TableSpec) -> tuple[pd.DataFrame, list[str]]:
    """The table as strings, and the numbered paper sources its ``(paper)`` cells refer to."""
    sources: list[str] = []
    paper_metrics = [m for m in spec.metrics if long.loc[long["metric"] == m, "paper_source"].notna().any()]
    records = {}
    for _, row in long.iterrows():
        key = tuple(row[k] for k in spec.rows)
        record = records.setdefault(key, dict(zip(spec.rows, key)))
        decimals = spec.decimals.get(row["metric"], 2)
        title = spec.metrics[row["metric"]]
        cell = format_cell(row["mean"], row["ci95_low"], row["ci95_high"], decimals)
        if row["n"] or title not in record:
            record[title] = cell
        if row["metric"] in paper_metrics and isinstance(row["paper_source"], str) and row["paper_source"]:
            if row["paper_source"] not in sources:
                sources.append(row["paper_source"])
            marker = f"[{sources.index(row['paper_source']) + 1}]"
            value = "not found" if pd.isna(row["paper_value"]) else f"{row['paper_value']:,.{decimals}f}"
            record[f"{title} (paper)"] = f"{value} {marker}"
    columns = list(spec.rows)
    for metric in spec.metrics:
        columns.append(spec.metrics[metric])
        if metric in paper_metrics:
            columns.append(f"{spec.metrics[metric]} (paper)")
    frame = pd.DataFrame(list(records.values()))
    frame = frame.reindex(columns=[c for c in columns if c in frame.columns]).fillna("—")
    return frame, sources


def footnote(long: pd.DataFrame, spec: TableSpec) -> str:
    """n, interval, scale, commits and CPU models; a table whose rows carry a second interval names both."""
    measured = long[long["n"] > 0]
    commits = sorted({c for text in measured["commits"] for c in str(text).split()})
    dirty = " (with uncommitted changes)" if measured["dirty"].any() else ""
    scale = long["scale"].iloc[0]
    kinds = list(dict.fromkeys([spec.interval, *measured["interval"]]))

    def ns(kind: str) -> str:
        return ", ".join(map(str, sorted(set(measured.loc[measured["interval"] == kind, "n"].astype(int))))) or "0"

    parts = [f"the {INTERVAL_TEXT[kind]}; n = {ns(kind)}" for kind in kinds if kind in INTERVAL_TEXT]
    cells = f"Cells: mean ± half-width of {parts[0]}. " + "".join(f"Also {part}. " for part in parts[1:])
    if "none" in kinds:  # derived rows, e.g. average ranks over datasets
        cells += f"Rows without an interval: n = {ns('none')}. "
    # every row's machines, measured or not: a cell the CPU could not measure says why there
    machines = sorted({m for text in long["machines"].dropna() for m in str(text).split("; ") if m})
    unsupported = " or not supported on the CPU named" if any(NOT_SUPPORTED in m for m in machines) else ""
    return (f"{cells}Scale: {scale}. Commit: {', '.join(c[:12] for c in commits) or 'n/a'}{dirty}. "
            f"CPU: {'; '.join(machines) or 'n/a'}. — = not run at this scale{unsupported}.")


def markdown(long: pd.DataFrame, spec: TableSpec, layout=wide) -> str:
    frame, sources = layout(long, spec)
    lines = [f"# {spec.title}", ""]
    if spec.caption:
        lines += [spec.caption, ""]
    lines += [frame.to_markdown(index=False, disable_numparse=True), "", footnote(long, spec)]
    if sources:
        lines += ["", "Paper numbers:"] + [f"[{i}] {src}" for i, src in enumerate(sources, 1)]
    for figure in spec.figures:  # drawn by the figure rule beside this page ([PDF] for papers)
        stem = f"figures/{spec.name}-{figure.name}"
        lines += ["", f"![{figure.title or spec.title}]({stem}.png)", f"[PDF]({stem}.pdf)"]
    return "\n".join(lines) + "\n"


def latex(long: pd.DataFrame, spec: TableSpec, layout=wide) -> str:
    frame, sources = layout(long, spec)
    caption = f"{spec.title}. {footnote(long, spec)}"
    if sources:
        caption += " Paper numbers: " + "; ".join(f"[{i}] {src}" for i, src in enumerate(sources, 1)) + "."
    styler = frame.style.hide(axis="index").format(escape="latex").format_index(escape="latex", axis=1)
    body = styler.to_latex(hrules=True, caption=caption.replace("%", r"\%").replace("_", r"\_"),
                           label=f"tab:{spec.name}", column_format="l" * len(frame.columns))
    return body.replace("±", r"$\pm$").replace("—", "--")
