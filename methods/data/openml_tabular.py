"""The 76 OpenML classification datasets of the TDTransformer paper, as typed tables.

The ids and their order are those of ``scripts/batch.sh`` in Zhenhan-Huang/TDTransformer at commit
7b5a36b (Huang et al., "Language Models Are Good Tabular Learners", TMLR 2025). Each is fetched by
scikit-learn's ``fetch_openml`` (:func:`methods.data.fetch.load_openml`), which checks the data file
against the md5 that OpenML publishes; OpenML publishes no SHA-256, so the fetch records the SHA-256
of every file it cached (the ARFF data, OpenML's description, features and qualities) in
``MANIFEST.json``, and :func:`prepare` checks them again and copies them into the prepared table's
metadata, with OpenML's name, version and licence of the dataset.

The target is the dataset's ``default_target_attribute``, as in the paper's ``dataset_custom.py``
(openml-python's ``get_data``); OpenML's ignored attributes and row ids are left out. Numeric columns
become float64 with NaN for missing values, every other column (nominal, string) text with ``""``
(:mod:`methods.data.tabular_format`), and the table says its types are declared (``types_declared``):
a text column stays categorical even when most of its cells look like numbers (Titanic's ``ticket``),
as the paper's code takes OpenML's categorical indicator; the class labels are the target's values as text. The paper's
per-dataset cleaning is repeated (:func:`paper_cleaning`): constant columns dropped, the rows it drops from 183 and
42178.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from methods.core.errors import DataError

from .fetch import load_openml, payload_sha256, read_manifest
from .registry import DatasetSpec, OpenMLSource
from .tabular_format import Table, save_table

PAPER_IDS = (40975, 31, 44, 1017, 188, 1494, 40687, 42178, 40664, 42734, 1464, 50, 1504, 1510, 1489, 1063, 1467,
             1480, 1068, 1049, 1050, 312, 38, 24, 40701, 803, 1462, 40983, 40900, 871, 1558, 976, 1056, 807, 1020,
             819, 1471, 1046, 1053, 1461, 1220, 1491, 1492, 1493, 6, 42, 16, 14, 12, 18, 28, 40966, 1552, 1548, 185,
             22, 182, 1475, 1497, 183, 4538, 1459, 1476, 26, 184, 679, 473, 46, 1560, 1529, 1540, 1538, 1568, 1525,
             40474, 40475)
_CITATION = ("Vanschoren, van Rijn, Bischl & Torgo, OpenML: Networked Science in Machine Learning, SIGKDD "
             "Explorations 15(2), 2013; list of datasets: Huang et al., Language Models Are Good Tabular Learners, "
             "TMLR 2025 (scripts/batch.sh of github.com/Zhenhan-Huang/TDTransformer)")


def _text(values) -> np.ndarray:
    return np.where(values.isna().to_numpy(), "", values.to_numpy(dtype=object).astype(str))


# The paper's own preparation of single datasets (``load_single_data`` in dataset_custom.py):
# abalone (183): rows dropped whose ring-count classes are too rare for a stratified split;
# Telco churn (42178, after SAINT): blank TotalCharges read as 0, then those rows dropped.
_DROP_ROWS = {183: (236, 294, 480, 719, 2108, 2201, 2209, 3149, 3280)}
_BLANK_AS_ZERO_THEN_DROP = {42178: "TotalCharges"}


def paper_cleaning(frame, data_id: int, target: str):
    """The frame as the paper trains on it: its per-dataset row fixes, and the feature columns
    with a single distinct value dropped (as for every dataset there)."""
    import pandas as pd

    frame = frame.drop(index=list(_DROP_ROWS.get(data_id, ()))).reset_index(drop=True)
    column = _BLANK_AS_ZERO_THEN_DROP.get(data_id)
    if column is not None:
        values = pd.to_numeric(frame[column].astype(str).str.strip().replace("", "0"))
        frame = frame.assign(**{column: values})
        frame = frame[frame[column] != 0].reset_index(drop=True)
    constant = [name for name in frame.columns if name != target and frame[name].nunique() <= 1]
    return frame.drop(columns=constant)


def frame_table(frame, target: str, meta: dict) -> Table:
    """The typed table of ``fetch_openml``'s frame, with column ``target`` as the labels."""
    import pandas as pd

    if target not in frame.columns:
        raise DataError(f"target '{target}' is not a single column of the data: {list(frame.columns)[:10]}")
    labels = frame[target]
    if labels.isna().any():
        raise DataError(f"target '{target}' is missing in {int(labels.isna().sum())} rows")
    features = frame.drop(columns=target)
    columns = [features[name].to_numpy(dtype=np.float64, na_value=np.nan)
               if pd.api.types.is_numeric_dtype(features[name].dtype) else _text(features[name])
               for name in features.columns]
    classes, y = np.unique(_text(labels), return_inverse=True)
    return Table([str(name) for name in features.columns], columns, y, classes.tolist(), meta)


def prepare(data_id: int, raw_dir: Path, out: Path) -> None:
    """Check the cached files against the manifest's SHA-256, parse them offline, write the table."""
    manifest = read_manifest(raw_dir)
    for name, entry in manifest["files"].items():
        actual = payload_sha256(raw_dir / name, gzip_payload=True)
        if actual != entry["sha256"]:
            raise DataError(f"{raw_dir / name}: sha256 {actual}, fetched as {entry['sha256']}; "
                            f"delete {raw_dir} and fetch again")
    bunch = load_openml(OpenMLSource(data_id), raw_dir, allow_download=False)
    details = bunch.details
    target = details["default_target_attribute"]
    meta = {"target": target, "source": f"OpenML {data_id}: {details['name']} version {details['version']}",
            "types_declared": True,
            "openml": manifest["openml"], "sha256": {name: e["sha256"] for name, e in manifest["files"].items()}}
    try:
        table = frame_table(paper_cleaning(bunch.frame, data_id, target), target, meta)
    except DataError as error:
        raise DataError(f"OpenML dataset {data_id}: {error}") from None
    save_table(out, table)


def spec(data_id: int) -> DatasetSpec:
    return DatasetSpec(
        name=f"openml_{data_id}", title=f"OpenML dataset {data_id}", licence="per dataset, see its OpenML page",
        citation=_CITATION, homepage=f"https://www.openml.org/d/{data_id}", prepare=partial(prepare, data_id),
        openml=OpenMLSource(data_id),
        notes="fetched with scikit-learn's fetch_openml; its name, version and licence are in the prepared metadata",
    )


DATASETS = tuple(spec(data_id) for data_id in PAPER_IDS)
