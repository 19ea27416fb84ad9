"""scikit-learn's bundled datasets: offline, no files to fetch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .formats import save_arrays
from .holdout import holdout_indices
from .registry import DatasetSpec


def _bundled(dataset: str, loader_name: str):
    def prepare(raw_dir: Path, out: Path) -> None:
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, loader_name)()
        names = [str(n) for n in getattr(bunch, "target_names", np.unique(bunch.target))]
        y = bunch.target.astype(np.int64)
        train_index, test_index = holdout_indices(y, dataset)
        save_arrays(out, x=bunch.data.astype(np.float32), y=y, train_index=train_index, test_index=test_index,
                    classes=np.array(names), feature_names=np.array([str(f) for f in getattr(bunch, "feature_names", [])]))

    return prepare


_SKLEARN_CITATION = "Pedregosa et al., Scikit-learn: Machine Learning in Python, JMLR 12, 2011"
DATASETS = (
    DatasetSpec(
        name="digits", title="Optical recognition of handwritten digits (8x8, UCI)",
        licence="CC BY 4.0 (UCI)", citation="Alpaydin & Kaynak, UCI ML Repository, 1998; " + _SKLEARN_CITATION,
        homepage="https://archive.ics.uci.edu/dataset/80", prepare=_bundled("digits", "load_digits"),
    ),
    DatasetSpec(
        name="iris", title="Iris (UCI)", licence="CC BY 4.0 (UCI)",
        citation="Fisher, 1936; " + _SKLEARN_CITATION, homepage="https://archive.ics.uci.edu/dataset/53",
        prepare=_bundled("iris", "load_iris"),
    ),
    DatasetSpec(
        name="wine", title="Wine (UCI)", licence="CC BY 4.0 (UCI)",
        citation="Aeberhard & Forina, 1991; " + _SKLEARN_CITATION, homepage="https://archive.ics.uci.edu/dataset/109",
        prepare=_bundled("wine", "load_wine"),
    ),
    DatasetSpec(
        name="breast_cancer", title="Breast Cancer Wisconsin (Diagnostic, UCI)", licence="CC BY 4.0 (UCI)",
        citation="Street, Wolberg & Mangasarian, 1993; " + _SKLEARN_CITATION,
        homepage="https://archive.ics.uci.edu/dataset/17", prepare=_bundled("breast_cancer", "load_breast_cancer"),
    ),
)
