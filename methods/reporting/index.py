"""``reports/<scale>/README.md``: what tables this run built, and what it left out and why."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .scorecard_render import counts_text, read


def index_markdown(scale: str, tables: list[tuple[str, str, Path, list[str]]], left_out: list[str],
                   claims: list[str] = ()) -> str:
    """``tables``: (name, title, long CSV path, figure file names) in build order; ``claims``: the
    scorecard's CSV (at most one), whose counts lead the page."""
    lines = [f"# effrepro tables, scale `{scale}`", ""]
    for path in claims:
        lines += ["## Does each technique do what its paper says?", "",
                  f"**[Claims scorecard](claims.md)**: {counts_text(read([path]))} "
                  "· [csv](claims.csv) · [tex](claims.tex) · [forest plot](figures/claims-effects.png)", "",
                  "## Tables", ""]
    lines += ["Each table comes as `.md` (paper layout), `.csv` (long form, one row per cell with mean, "
              "95% interval, n and the paper's number) and `.tex` (booktabs).", ""]
    for name, title, csv_path, figures in tables:
        csv = pd.read_csv(csv_path)
        runs = f", n = {', '.join(map(str, sorted(set(csv['n'][csv['n'] > 0]))))}"
        links = " · ".join(f"[{ext}]({name}.{ext})" for ext in ("md", "csv", "tex"))
        figs = " · ".join(f"[{Path(f).stem}](figures/{Path(f).name})" for f in figures)
        lines.append(f"- **{title}** (`{name}`{runs}): {links}" + (f" · figures: {figs}" if figs else ""))
    lines += ["", "## Left out of this run", ""]
    lines += [f"- {line}" for line in left_out] or ["- nothing: every table of the enabled studies was built."]
    return "\n".join(lines) + "\n"
