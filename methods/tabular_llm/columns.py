"""Column typing: categorical, numerical or binary, with per-dataset overrides (TDT Sec. 3.1).

TDTransformer treats a table as three token groups: categorical columns (cells become text),
numerical columns (column name + a piece-wise linear encoding of the value) and binary columns
(the column name, weighted by the 0/1 value). Types are inferred from the stored column and the
number of distinct values, and can be overridden per dataset (the repo's ``dataset_config.py``
does the same, e.g. credit-g's telephone and foreign-worker columns are binary).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from methods.core.errors import ConfigError, DataError
from methods.data.tabular_format import Table

CATEGORICAL, NUMERICAL, BINARY = "categorical", "numerical", "binary"
TYPES = (CATEGORICAL, NUMERICAL, BINARY)
# Values read as the "1" of a binary column (the repo's binary_indicator, plus KEEL's y/n votes).
POSITIVE = ("1", "1.0", "yes", "y", "true", "t", "positive", "male")
# Per-dataset overrides: column name -> type.
OVERRIDES: dict[str, dict[str, str]] = {
    "german_credit": {"telephone": BINARY, "foreign worker": BINARY},
    "openml_31": {"own_telephone": BINARY, "foreign_worker": BINARY},  # credit-g, the paper's OPENML_DATACONFIG
    "adult": {"sex": BINARY},
    "keel_heart": {"sex": BINARY, "fasting blood sugar above 120 mg/dl": BINARY, "exercise induced angina": BINARY},
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # categorical | numerical | binary
    index: int  # position in the table


def _numeric_text(values: np.ndarray) -> np.ndarray | None:
    """Parse a text column as numbers if every present cell is one; ``None`` if none is."""
    present = values[values != ""]
    parsed = []
    for v in present:
        try:
            parsed.append(float(v))
        except ValueError:
            parsed.append(None)
    ok = sum(p is not None for p in parsed)
    if ok == 0:
        return None
    if ok < len(parsed):
        bad = sorted({str(v) for v, p in zip(present, parsed) if p is None})[:5]
        raise DataError(f"column has {ok} numeric and {len(parsed) - ok} non-numeric cells (e.g. {bad}): "
                        "mixed types that cannot be parsed; override its type or clean the data")
    out = np.full(len(values), np.nan)
    out[values != ""] = [p for p in parsed]
    return out


def infer_types(table: Table, dataset: str, overrides: dict[str, str] | None = None) -> list[Column]:
    """Type every column: float columns are numerical (binary if only 0/1), text columns are
    categorical (binary if they hold exactly two values); ``overrides`` (or :data:`OVERRIDES`)
    win. Text columns whose cells are all numbers are numerical; partly numeric text raises,
    unless the source declared the types (``meta["types_declared"]``, OpenML): text stays text."""
    chosen = dict(OVERRIDES.get(dataset, {}) if overrides is None else overrides)
    unknown = set(chosen) - set(table.names)
    if unknown:
        raise ConfigError(f"column types of {dataset}", sorted(unknown), f"columns of the table: {table.names}")
    bad = {k: v for k, v in chosen.items() if v not in TYPES}
    if bad:
        raise ConfigError(f"column types of {dataset}", bad, f"one of {TYPES}")
    columns = []
    for i, (name, values) in enumerate(zip(table.names, table.columns)):
        if name in chosen:
            columns.append(Column(name, chosen[name], i))
            continue
        if values.dtype.kind == "U" and not table.meta.get("types_declared"):
            try:
                numeric = _numeric_text(values)
            except DataError as error:
                raise DataError(f"{dataset}: column '{name}': {error}") from None
            if numeric is not None:
                table.columns[i] = values = numeric
        if values.dtype.kind == "f":
            present = set(np.unique(values[~np.isnan(values)]).tolist())
            kind = BINARY if present and present <= {0.0, 1.0} else NUMERICAL
        else:
            kind = BINARY if len(set(values[values != ""])) == 2 else CATEGORICAL
        columns.append(Column(name, kind, i))
    return columns


def binary_values(values: np.ndarray) -> np.ndarray:
    """0/1 floats of a binary column: numbers as they are; for text, the level named in
    :data:`POSITIVE` is 1, or else the later of the two levels in sorted order."""
    if values.dtype.kind == "f":
        return (values == 1.0).astype(np.float32)
    levels = sorted(set(values.tolist()) - {""})
    named = [v for v in levels if v.lower() in POSITIVE]
    positive = named[0] if named else levels[-1]
    return (values == positive).astype(np.float32)


def check_target(y: np.ndarray, dataset: str) -> None:
    classes = np.unique(y)
    if len(classes) < 2:
        raise DataError(f"{dataset}: the target has {len(classes)} class ({classes.tolist()}); "
                        "classification needs at least 2")
