"""mini-ImageNet (Vinyals et al., NeurIPS 2016) with the Ravi & Larochelle (ICLR 2017) split (download only).

100 ILSVRC-2012 classes with 600 images each at 84x84, split 64 / 16 / 20 into train / validation /
test classes. There is no official host. The source is the archive ``mini-imagenet.tar.gz`` that
Ren et al. publish on Google Drive (file id 16V_ZlkW4SsnNDtnGmaBRq2OoPmUOc5mY, README of
``renmengye/few-shot-ssl-public`` @ 4ce8726c036ae2811050e9571e8d2b4b46b2acac) and that torchmeta
downloads and checks against md5 b38f1eb4251fb9459ecc8e7febf9b2eb (``tristandeleu/pytorch-meta``,
``torchmeta/datasets/miniimagenet.py`` @ 00d608a35d1151d7ae6234695ede737720d9df66). No SHA-256 of it
is published anywhere we found: the fetch checks that md5 and records the SHA-256 of what it got in
the manifest. The archive holds three pickles ``mini-imagenet-cache-{train,val,test}.pkl``, each a
dict ``image_data`` (N, 84, 84, 3) uint8 and ``class_dict`` {WordNet id: row indices} (the format
that torchmeta's loader above reads).

Classes are assigned to splits by WordNet id from Ravi & Larochelle's lists (``data/miniImagenet/
{val,test}.csv`` of ``twitter-research/meta-learning-lstm`` @ 0cffa2481619ce643d0951bd637bf05b23ef827a;
the other 64 classes train), not by the pickle a class comes in. Prepared form: ``images``
(100, 600, 3, 84, 84) uint8 (classes in WordNet-id order, images in pickle order), ``split`` (100,)
with 0 train / 1 validation / 2 test, ``classes`` the WordNet ids.
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

RAVI_VAL = ("n01855672", "n02091244", "n02114548", "n02138441", "n02174001", "n02950826", "n02971356", "n02981792",
            "n03075370", "n03417042", "n03535780", "n03584254", "n03770439", "n03773504", "n03980874", "n09256479")
RAVI_TEST = ("n01930112", "n01981276", "n02099601", "n02110063", "n02110341", "n02116738", "n02129165", "n02219486",
             "n02443484", "n02871525", "n03127925", "n03146219", "n03272010", "n03544143", "n03775546", "n04146614",
             "n04149813", "n04418357", "n04522168", "n07613480")
PICKLES = tuple(f"mini-imagenet-cache-{split}.pkl" for split in ("train", "val", "test"))
_DRIVE_ID = "16V_ZlkW4SsnNDtnGmaBRq2OoPmUOc5mY"
ARCHIVE = RemoteFile(
    "mini-imagenet.tar.gz", "", md5="b38f1eb4251fb9459ecc8e7febf9b2eb",
    # Google Drive's direct-download endpoint; confirm=t skips the page that warns large files are not virus-scanned
    urls=(f"https://drive.usercontent.google.com/download?id={_DRIVE_ID}&export=download&confirm=t",
          f"https://drive.google.com/uc?export=download&confirm=t&id={_DRIVE_ID}"),
)


def _text(key) -> str:
    return key.decode() if isinstance(key, bytes) else str(key)


def _read_pickle(path: Path) -> tuple[np.ndarray, dict[str, list[int]]]:
    """Images and class rows of one cache pickle (written by Python 2 or 3: keys may be bytes)."""
    with open(path, "rb") as handle:
        # the archive is only unpacked after its published md5 matched
        data = {_text(k): v for k, v in pickle.load(handle, encoding="latin1").items()}
    if "image_data" not in data or "class_dict" not in data:
        raise DataError(f"mini_imagenet: {path.name} holds {sorted(data)}, not 'image_data' and 'class_dict'")
    return np.asarray(data["image_data"]), {_text(k): list(v) for k, v in data["class_dict"].items()}


def _images_by_class(folder: Path) -> dict[str, np.ndarray]:
    """Every class of the three pickles under ``folder``: WordNet id -> images (k, 3, H, W)."""
    by_class: dict[str, np.ndarray] = {}
    for name in PICKLES:
        found = sorted(folder.rglob(name))
        if len(found) != 1:
            raise DataError(f"mini_imagenet: {ARCHIVE.name} should hold one {name}, found {len(found)}")
        images, classes = _read_pickle(found[0])
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise DataError(f"mini_imagenet: {name} images are {images.dtype} {images.shape}, "
                            "expected uint8 (N, H, W, 3)")
        for wnid, rows in classes.items():
            if wnid in by_class:
                raise DataError(f"mini_imagenet: class {wnid} appears in more than one pickle")
            by_class[wnid] = images[np.asarray(rows, dtype=np.int64)].transpose(0, 3, 1, 2)
    return by_class


def prepare(raw_dir: Path, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        extract(raw_dir / ARCHIVE.name, Path(tmp))
        by_class = _images_by_class(Path(tmp))
    names = sorted(by_class)
    missing = sorted(set(RAVI_VAL + RAVI_TEST) - set(names))
    if missing:
        raise DataError(f"mini_imagenet: the Ravi & Larochelle validation / test classes {missing} are not in "
                        f"{ARCHIVE.name}")
    shapes = {by_class[name].shape for name in names}
    if len(shapes) != 1:
        raise DataError(f"mini_imagenet: classes differ in image count or size: {sorted(shapes)}")
    images = np.empty((len(names), *shapes.pop()), dtype=np.uint8)
    for i, name in enumerate(names):  # one class at a time: the full set is 1.3 GB
        images[i] = by_class.pop(name)
    split = np.array([1 if n in RAVI_VAL else 2 if n in RAVI_TEST else 0 for n in names], dtype=np.int64)
    save_arrays(out, images=images, split=split, classes=np.array(names))


DATASETS = (
    DatasetSpec(
        name="mini_imagenet", title="mini-ImageNet (64/16/20 ILSVRC-2012 classes, Ravi & Larochelle split)",
        licence="ImageNet terms of access (non-commercial research and education); no licence stated for the "
                "repackaged archive",
        citation="Vinyals, Blundell, Lillicrap, Kavukcuoglu & Wierstra, Matching Networks for One Shot Learning, "
                 "NeurIPS 2016; Ravi & Larochelle, Optimization as a Model for Few-Shot Learning, ICLR 2017; "
                 "Russakovsky et al., ImageNet Large Scale Visual Recognition Challenge, IJCV 2015",
        homepage="https://github.com/renmengye/few-shot-ssl-public", files=(ARCHIVE,), prepare=prepare,
        notes="requires internet (Google Drive archive of Ren et al., 1.1 GB)",
    ),
)
