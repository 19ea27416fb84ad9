"""The one-page scorecard: every claim's tests with their verdicts, as Markdown, LaTeX and a forest plot.

Input: the long rows of :mod:`methods.reporting.scorecard` of every study (``claims.csv``).
Output: ``reports/<scale>/claims.{md,tex}`` (per claim a summary line, then one line per test:
effect, 95% interval, n, margin, verdict and reason) and ``figures/claims-effects.png`` (each
decided test's effect and interval against its margin, one panel per claim).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from methods.core.atomic import atomic_path
from methods.core.verdict import NOT_RUN, VERDICTS

RULE = ("Verdict rule (methods/core/verdict.py): paired tests take one difference per training seed (A − B, "
        "oriented so that positive favours the claim; ratios as geometric means) and a 95% Student-t interval "
        "over them, mean ± t(0.975, n−1)·s/√n; **reproduced** when the interval lies on the claimed side of "
        "the margin, **contradicted** when it lies on the other side, **inconclusive** when it contains the "
        "margin or n < 2. Tests against a paper number put the same interval around ours − paper: "
        "reproduced inside ± tolerance, contradicted entirely outside. Episode-level intervals never decide.")


_NUMERIC = ("effect", "ci95_low", "ci95_high", "margin", "paper_value")


def read(paths) -> pd.DataFrame:
    """Scorecard rows from claims CSVs: empty text stays empty (reasons, commits), empty numbers are NaN."""
    return pd.concat([pd.read_csv(path, keep_default_na=False, na_values={c: [""] for c in _NUMERIC})
                      for path in paths], ignore_index=True)


def counts(frame: pd.DataFrame) -> dict[str, int]:
    return {verdict: int((frame["verdict"] == verdict).sum()) for verdict in VERDICTS}


def counts_text(frame: pd.DataFrame) -> str:
    """"7 reproduced, 2 contradicted, 3 inconclusive, 5 not run (17 tests of 9 claims)"."""
    parts = ", ".join(f"{n} {verdict}" for verdict, n in counts(frame).items())
    return f"{parts} ({len(frame)} tests of {frame['claim'].nunique()} claims)"


def _decimals(row) -> int:
    """Enough decimals for the interval's width to show (AUC differences of 0.01 need three)."""
    width = abs(row["ci95_high"] - row["ci95_low"]) if not math.isnan(row["ci95_low"]) else abs(row["effect"])
    return 3 if width < 0.2 else 2


def _effect(row) -> str:
    d = _decimals(row)
    return f"{row['effect']:.{d}f}x" if row["effect_scale"] == "ratio" else f"{row['effect']:+.{d}f}"


def tests_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The per-test table: dataset, test, effect [interval], n, margin, verdict and reason."""
    out = []
    for _, row in frame.iterrows():
        decided = row["verdict"] != NOT_RUN
        d = _decimals(row) if decided else 2
        interval = (f"[{row['ci95_low']:.{d}f}, {row['ci95_high']:.{d}f}]"
                    if decided and not math.isnan(row["ci95_low"]) else "—")
        paper_value = "" if pd.isna(row["paper_value"]) else f" (paper {row['paper_value']:g})"
        margin = f"±{row['margin']:g}" if paper_value else f"{row['margin']:g}"
        margin += "x" if row["effect_scale"] == "ratio" else ""
        out.append({"claim": row["claim"], "dataset": row["dataset"], "test": row["setting"] + paper_value,
                    "metric": row["metric"], "effect": _effect(row) if decided else "—",
                    "95% interval": interval, "n": int(row["n"]) if decided else "—", "margin": margin,
                    "verdict": row["verdict"], "reason": row["reason"] if isinstance(row["reason"], str) else ""})
    return pd.DataFrame(out)


def not_run_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Tests not run, one line per claim and reason, with the datasets and the number of tests."""
    skipped = frame[frame["verdict"] == NOT_RUN]
    out = [{"claim": claim, "datasets": ", ".join(dict.fromkeys(group["dataset"])), "tests": len(group),
            "reason": reason} for (claim, reason), group in skipped.groupby(["claim", "reason"], sort=False)]
    return pd.DataFrame(out, columns=["claim", "datasets", "tests", "reason"])


def claim_lines(frame: pd.DataFrame) -> pd.DataFrame:
    """One line per claim: its paper and place, statement, and the verdicts of its tests."""
    out = []
    for claim, group in frame.groupby("claim", sort=False):
        first = group.iloc[0]
        tally = ", ".join(f"{n} {v}" for v, n in counts(group).items() if n)
        out.append({"claim": claim, "paper": f"{first['paper']} ({first['where']})",
                    "statement": first["statement"], "tests": tally})
    return pd.DataFrame(out)


def _footnote(frame: pd.DataFrame) -> str:
    decided = frame[frame["verdict"] != NOT_RUN]
    commits = sorted({c for text in decided["commits"].dropna() for c in str(text).split()})
    machines = sorted({m for text in decided["machines"].dropna() for m in str(text).split("; ") if m})
    return (f"Scale: {frame['scale'].iloc[0]}. Commit: {', '.join(c[:12] for c in commits) or 'n/a'}. "
            f"CPU: {'; '.join(machines) or 'n/a'}. Effects are in the metric's unit (ratios for speed-ups); "
            "margins: the difference the claim needs (negative: 'within'), or ± the tolerance around the paper.")


def markdown(frame: pd.DataFrame) -> str:
    scale = frame["scale"].iloc[0]
    lines = [f"# Claims scorecard, scale `{scale}`", "", f"**{counts_text(frame)}**", "", RULE, "",
             "## Claims", "", claim_lines(frame).to_markdown(index=False), "", "## Tests", ""]
    decided = tests_table(frame[frame["verdict"] != NOT_RUN])
    lines += [decided.to_markdown(index=False, disable_numparse=True) if len(decided) else "No test ran.", "",
              _footnote(frame), "", "## Not run at this scale", ""]
    skipped = not_run_table(frame)
    lines += [skipped.to_markdown(index=False) if len(skipped) else "Every test ran."]
    reasons = sorted({r for r in frame["margin_reason"].dropna() if r})
    lines += ["", "Margins and tolerances:"] + [f"- {r}" for r in reasons]
    return "\n".join(lines) + "\n"


def latex(frame: pd.DataFrame) -> str:
    table = tests_table(frame).drop(columns=["reason"])
    caption = f"Claims scorecard: {counts_text(frame)}. {_footnote(frame)}"
    styler = table.style.hide(axis="index").format(escape="latex").format_index(escape="latex", axis=1)
    body = styler.to_latex(hrules=True, caption=caption.replace("%", r"\%").replace("_", r"\_"),
                           label="tab:claims", column_format="l" * len(table.columns))
    return body.replace("±", r"$\pm$").replace("—", "--")


COLOURS = {"reproduced": "#1b7837", "contradicted": "#b2182b", "inconclusive": "#7f7f7f"}


def _panel(ax, rows: pd.DataFrame, claim: str) -> None:
    """One claim's tests: effect and interval per test (colour: verdict), the margin dashed."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    y = list(range(len(rows)))[::-1]
    for yi, (_, row) in zip(y, rows.iterrows()):
        low = row["ci95_low"] if not math.isnan(row["ci95_low"]) else row["effect"]
        high = row["ci95_high"] if not math.isnan(row["ci95_high"]) else row["effect"]
        colour = COLOURS[row["verdict"]]
        ax.plot([low, high], [yi, yi], color=colour, lw=2)
        ax.plot(row["effect"], yi, "o", color=colour, ms=5)
    first = rows.iloc[0]
    agreement = not pd.isna(first["paper_value"])
    for edge in ([-first["margin"], first["margin"]] if agreement else [first["margin"]]):
        ax.axvline(edge, color="black", ls="--", lw=1)
    if first["effect_scale"] == "ratio":
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}x"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    several = rows["metric"].nunique() > 1
    ax.set_yticks(y, [f"{r['dataset']}: {r['setting']}" + (f" [{r['metric']}]" if several else "")
                      for _, r in rows.iterrows()], fontsize=7)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    unit = ("ours − paper" if agreement else "effect") + ("" if several else f" ({first['metric']})")
    ax.set_title(f"{claim}: {unit}", fontsize=8, loc="left")
    ax.tick_params(axis="x", labelsize=7)


def forest(frame: pd.DataFrame, out: Path, columns: int = 2) -> None:
    """Each decided test's effect and 95% interval, one panel per claim (``columns`` panels a row),
    with the margin (or the paper's ± tolerance) as dashed lines; colours are the verdicts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    decided = frame[(frame["verdict"] != NOT_RUN) & frame["effect"].notna()]
    claims = list(dict.fromkeys(decided["claim"]))
    grid_rows = max(1, math.ceil(len(claims) / columns))
    sizes = [len(decided[decided["claim"] == c]) for c in claims]
    heights = [max(sizes[r * columns:(r + 1) * columns] or [1]) * 0.28 + 0.8 for r in range(grid_rows)]
    fig, axes = plt.subplots(grid_rows, columns, figsize=(7.5 * columns, sum(heights)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, claim in zip(axes.flat, claims):
        _panel(ax, decided[decided["claim"] == claim].reset_index(drop=True), claim)
    for ax in list(axes.flat)[len(claims):]:
        ax.axis("off")
    handles = [plt.Line2D([], [], color=c, marker="o", lw=2, label=v) for v, c in COLOURS.items()]
    fig.legend(handles=handles, loc="upper right", fontsize=8, ncol=3)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
