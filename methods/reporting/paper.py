"""Paper reference numbers: a CSV per study, each value with its source.

Columns: table, dataset, method, setting, metric, value, source, source_kind, status, note.
``status`` is ``read`` for a number copied from its source, or ``not found`` for one nobody could
read yet (its value stays empty and the table says so; numbers are never guessed).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

COLUMNS = ["table", "dataset", "method", "setting", "metric", "value", "source", "source_kind", "status", "note"]
KEYS = ["dataset", "method", "setting", "metric"]


def load(path: Path | None, table: str) -> pd.DataFrame:
    if path is None:
        return pd.DataFrame(columns=COLUMNS)
    frame = pd.read_csv(path, dtype={"value": float}, keep_default_na=False, na_values={"value": [""]})
    missing = set(COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    bad = frame[(frame["status"] == "read") & frame["value"].isna()]
    if len(bad):
        raise ValueError(f"{path}: rows marked 'read' without a value: {bad.index.tolist()}")
    return frame[frame["table"] == table].reset_index(drop=True)
