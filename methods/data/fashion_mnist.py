"""Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017): 70,000 28x28 grey images, 10 classes.

Upstream is Zalando's official bucket; Debian's ``dataset-fashion-mnist`` ships the same idx
files recompressed, so the registry checks the SHA-256 of the decompressed payload.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from methods.core.errors import DataError

from .formats import save_arrays
from .registry import DatasetSpec, DebianSource, RemoteFile

_UPSTREAM = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
_FILES = {
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}


def read_idx(path: Path) -> np.ndarray:
    """Read a (gzipped) idx file: magic (0, 0, dtype 0x08, ndim), big-endian sizes, bytes."""
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    if data[:3] != b"\x00\x00\x08":
        raise DataError(f"{path}: not an unsigned-byte idx file")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise DataError(f"{path}: expected {shape} values, found {array.size}")
    return array.reshape(shape)


def prepare(raw_dir: Path, out: Path) -> None:
    x_train = read_idx(raw_dir / "train-images-idx3-ubyte.gz")[:, None]
    y_train = read_idx(raw_dir / "train-labels-idx1-ubyte.gz").astype(np.int64)
    x_test = read_idx(raw_dir / "t10k-images-idx3-ubyte.gz")[:, None]
    y_test = read_idx(raw_dir / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    if (len(x_train), len(x_test)) != (60000, 10000):
        raise DataError(f"fashion_mnist: expected 60000/10000 images, found {len(x_train)}/{len(x_test)}")
    save_arrays(out, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, classes=np.array(CLASSES))


DATASETS = (
    DatasetSpec(
        name="fashion_mnist",
        title="Fashion-MNIST",
        licence="MIT",
        citation="Xiao, Rasul & Vollgraf, Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine "
                 "Learning Algorithms, arXiv:1708.07747, 2017",
        homepage="https://github.com/zalandoresearch/fashion-mnist",
        files=tuple(RemoteFile(name, sha, (_UPSTREAM + name,), gzip_payload=True) for name, sha in _FILES.items()),
        local=(DebianSource("dataset-fashion-mnist", "/usr/share/datasets/fashion-mnist"),),
        prepare=prepare,
    ),
)
