"""CIFAR-FS and FC100: few-shot splits of CIFAR-100 (download only; paper scale).

* CIFAR-FS (Bertinetto et al., ICLR 2019): 64 / 16 / 20 fine classes, random.
* FC100 (Oreshkin et al., NeurIPS 2018): split by superclass, 12 / 4 / 4 superclasses (60 / 20 / 20
  fine classes), so that test classes are semantically far from training classes.

The class lists are those shipped by torchmeta (``tristandeleu/pytorch-meta``):
``torchmeta/datasets/assets/cifar100/cifar-fs/{val,test}.json`` @ ac3c48e5 (the remaining 64 classes
train), and ``.../cifar100/fc100/{train,test}.json`` @ 4c5eb5b4 (12 and 4 superclasses; the other
4, which validate, are the list in ``.../cifar100/val.json`` @ 3e29bfaf). Prepared form: ``images`` (100, 600, 3, 32, 32) uint8 (train then test images of each
fine class, CIFAR order), ``split`` (100,) with 0 train / 1 validation / 2 test, ``classes`` names.
"""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path

import numpy as np

from methods.core.errors import DataError

from .archive import extract
from .formats import save_arrays
from .registry import DatasetSpec, RemoteFile

CIFAR_FS_VAL = ("beaver", "otter", "flatfish", "shark", "lamp", "television", "beetle", "butterfly", "sea", "camel",
                "cattle", "crab", "crocodile", "maple_tree", "motorcycle", "tractor")
CIFAR_FS_TEST = ("whale", "poppy", "rose", "sweet_pepper", "telephone", "bed", "table", "wardrobe", "leopard", "plain",
                 "chimpanzee", "fox", "snail", "worm", "baby", "man", "woman", "bicycle", "pickup_truck", "rocket")
FC100_VAL = ("large_carnivores", "large_omnivores_and_herbivores", "non-insect_invertebrates", "small_mammals")
FC100_TEST = ("aquatic_mammals", "insects", "medium_mammals", "people")
_ARCHIVE = RemoteFile("cifar-100-python.tar.gz", "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
                      ("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",))


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as handle:
        # the official archive is a set of Python pickles; it is only read after its SHA-256 matched
        return pickle.load(handle, encoding="latin1")


def _cifar100(raw_dir: Path) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Images (100, 600, 3, 32, 32) by fine class, the coarse class of each fine class, and the names."""
    with tempfile.TemporaryDirectory() as tmp:
        extract(raw_dir / _ARCHIVE.name, Path(tmp))
        folder = Path(tmp) / "cifar-100-python"
        parts = [_unpickle(folder / name) for name in ("train", "test")]
        meta = _unpickle(folder / "meta")
    data = np.concatenate([p["data"] for p in parts]).reshape(-1, 3, 32, 32)
    fine = np.concatenate([p["fine_labels"] for p in parts])
    coarse = np.concatenate([p["coarse_labels"] for p in parts])
    images = np.stack([data[fine == c] for c in range(100)])
    if images.shape != (100, 600, 3, 32, 32):
        raise DataError(f"cifar-100: expected 600 images for each of 100 classes, got {images.shape}")
    parent = np.array([coarse[fine == c][0] for c in range(100)])
    return images, parent, list(meta["fine_label_names"]), list(meta["coarse_label_names"])


def _prepare(kind: str):
    def prepare(raw_dir: Path, out: Path) -> None:
        images, parent, fine_names, coarse_names = _cifar100(raw_dir)
        if kind == "cifar_fs":
            keys, val, test = fine_names, CIFAR_FS_VAL, CIFAR_FS_TEST
        else:
            keys, val, test = [coarse_names[p] for p in parent], FC100_VAL, FC100_TEST
        missing = sorted(set(val + test) - set(keys))
        if missing:
            raise DataError(f"{kind}: split names {missing} are not CIFAR-100 class names")
        split = np.array([1 if k in val else 2 if k in test else 0 for k in keys], dtype=np.int64)
        save_arrays(out, images=images, split=split, classes=np.array(fine_names))

    return prepare


_CITATION_CIFAR = "Krizhevsky, Learning Multiple Layers of Features from Tiny Images, Tech. report, 2009"
DATASETS = (
    DatasetSpec(
        name="cifar_fs", title="CIFAR-FS (64/16/20 CIFAR-100 classes)",
        licence="no licence stated; cite the technical report",
        citation="Bertinetto, Henriques, Torr & Vedaldi, Meta-learning with differentiable closed-form solvers, "
                 "ICLR 2019; " + _CITATION_CIFAR,
        homepage="https://www.cs.toronto.edu/~kriz/cifar.html", files=(_ARCHIVE,), prepare=_prepare("cifar_fs"),
        notes="requires internet (CIFAR-100 archive)",
    ),
    DatasetSpec(
        name="fc100", title="FC100 (CIFAR-100 split by superclass, 12/4/4)",
        licence="no licence stated; cite the technical report",
        citation="Oreshkin, Rodriguez & Lacoste, TADAM: Task dependent adaptive metric for improved few-shot "
                 "learning, NeurIPS 2018; " + _CITATION_CIFAR,
        homepage="https://www.cs.toronto.edu/~kriz/cifar.html", files=(_ARCHIVE,), prepare=_prepare("fc100"),
        notes="requires internet (CIFAR-100 archive)",
    ),
)
