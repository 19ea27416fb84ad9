"""From sweep runs to the long rows of the pruning tables."""

from __future__ import annotations

import pandas as pd


def split_sweeps(runs: pd.DataFrame, run_methods: tuple[str, ...]) -> pd.DataFrame:
    """Rows of the runs of ``run_methods`` (a table's feeding runs), with ``metric@method@setting``
    split into its columns.

    Metrics without the two ``@`` parts (job costs, run-level values) are dropped: the tables
    report per-setting values only. A run whose setting is not ``sweep`` (one model of several
    on a dataset) prefixes its settings with its own: ``llama2-7b s0.50``.
    """
    mine = runs[runs["method"].isin(run_methods)]
    parts = mine["metric"].str.split("@", expand=True)
    if parts.shape[1] < 3:
        return mine.iloc[0:0]
    keep = parts[2].notna()
    out = mine[keep].copy()
    own = out["setting"]
    out["metric"], out["method"] = parts.loc[keep, 0], parts.loc[keep, 1]
    out["setting"] = parts.loc[keep, 2].where(own == "sweep", own + " " + parts.loc[keep, 2])
    return out.reset_index(drop=True)


def sweep_rows(run) -> set[tuple[str, str, str]]:
    """The (dataset, method, setting) rows a sweep run reports (``runs_vision``, ``runs_transformer``),
    from its params alone. Unstructured compressions above what a model can reach with its classifier
    dense are included: they are skipped only when the model is known."""
    p = run.params
    if "strategies" in p:
        rows = {(s, f"x{c:02d}") for s in p["strategies"] for c in p["compressions"]}
    elif "criteria" in p:
        rows = {("dense", "r0.00")} | {(c, f"r{r:.2f}") for c in p["criteria"] for r in p["ratios"]}
    else:
        rows = {(m, f"s{s:.2f}") for m in p["methods"] for s in p["sparsities"]}
        if run.method.endswith("_llm"):  # decoders score the dense model too (perplexity)
            rows.add(("dense", "s0.00"))
    prefix = "" if run.setting == "sweep" else f"{run.setting} "
    return {(run.dataset, method, prefix + setting) for method, setting in rows}
