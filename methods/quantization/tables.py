"""Runs that report several table rows at once, and the wide layouts of the quantization tables.

A run that trains or evaluates many settings in one job (all PTQ settings of a model, WrapNet at
every accumulator width, FedAvg at every broadcast width) reports each metric as
``"<metric>|<method>|<setting>"``; :func:`explode` turns those into ordinary long rows with that
method and setting before aggregation, so each becomes its own table row.
"""

from __future__ import annotations

import pandas as pd

SEP = "|"


def key(metric: str, method: str, setting: str) -> str:
    for part in (metric, method, setting):
        if SEP in part:
            raise ValueError(f"'{SEP}' is reserved in metric keys, got {part!r}")
    return SEP.join((metric, method, setting))


def explode(runs: pd.DataFrame) -> pd.DataFrame:
    """Rows whose metric reads ``metric|method|setting`` get that metric, method and setting."""
    runs = runs.copy()
    packed = runs["metric"].str.contains(SEP, regex=False)
    if packed.any():
        parts = runs.loc[packed, "metric"].str.split(SEP, n=2, expand=True)
        runs.loc[packed, "metric"] = parts[0]
        runs.loc[packed, "method"] = parts[1]
        runs.loc[packed, "setting"] = parts[2]
    return runs


def drop_empty_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns whose every cell is the placeholder ``—`` (metrics that only have paper values elsewhere)."""
    keep = [c for c in frame.columns if not (frame[c] == "—").all()]
    return frame[keep]
