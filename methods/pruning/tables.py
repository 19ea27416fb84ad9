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
