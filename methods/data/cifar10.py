"""CIFAR-10 (Krizhevsky, 2009): 60,000 32x32 colour images, 10 classes. Download only."""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path

import numpy as np

from .archive import extract
from .formats import save_arrays
from .registry import DatasetSpec, RemoteFile

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as handle:
        # the official archive is a set of Python pickles; it is only read after its SHA-256 matched
        batch = pickle.load(handle, encoding="bytes")
    return batch[b"data"].reshape(-1, 3, 32, 32), np.asarray(batch[b"labels"], dtype=np.int64)


def prepare(raw_dir: Path, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        extract(raw_dir / "cifar-10-python.tar.gz", Path(tmp))
        folder = Path(tmp) / "cifar-10-batches-py"
        train = [_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
        x_test, y_test = _batch(folder / "test_batch")
    save_arrays(out, x_train=np.concatenate([x for x, _ in train]), y_train=np.concatenate([y for _, y in train]),
                x_test=x_test, y_test=y_test, classes=np.array(CLASSES))


DATASETS = (
    DatasetSpec(
        name="cifar10",
        title="CIFAR-10",
        licence="no licence stated; cite the technical report",
        citation="Krizhevsky, Learning Multiple Layers of Features from Tiny Images, Tech. report, 2009",
        homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
        files=(RemoteFile("cifar-10-python.tar.gz", "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
                          ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",)),),
        prepare=prepare,
    ),
)
