"""ImageNet, ILSVRC-2012 classification (Russakovsky et al., IJCV 2015): 1,281,167 training and
50,000 validation JPEGs of 1,000 classes. Requires a login at image-net.org: no download without it.

The three official files are registered with the SHA-256 values that torchvision publishes for them
(``pytorch/vision`` at 1ec2509e8715d5373b194b688ee0cc75262baec9,
``torchvision/prototype/datasets/_builtin/imagenet.py``: ``_IMAGES_CHECKSUMS`` and the devkit
resource). A user who has them places them in a mirror folder, ``<mirror>/imagenet/<file>``, and
runs with ``download=true`` (the upstream URLs answer only to a logged-in browser session).

The prepared form cannot be one array file of 1.3 M decoded images (about 190 GB at 224x224). It is
the extracted JPEG tree ``<prepared>.images/`` (``train/<wnid>/<wnid>_<n>.JPEG`` from the tar of
per-class tars, ``val/ILSVRC2012_val_<n>.JPEG``) and the prepared ``.npz`` as its index: relative
paths (``train_paths``, ``test_paths``: the official validation set is the test split, as in the
ImageNet papers), labels (``y_train``, ``y_test``), the class WordNet ids (``classes``) and names
(``class_names``), and ``folder_sha256``, the hash of the index that the folder's ``INDEX_SHA256``
file repeats, so that a folder from another preparation is never read as this one's.

Labels are the positions of the 1,000 leaf synsets of the devkit's ``meta.mat`` (``num_children``
0, ``ILSVRC2012_ID`` 1..1000) in sorted WordNet-id order, the order of the class folders that
pretrained torchvision models use; the validation labels come from the devkit's
``ILSVRC2012_validation_ground_truth.txt`` (one ``ILSVRC2012_ID`` per image, in file-number order).
Images are decoded by :mod:`methods.data.image_files` at training time.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from methods.core.errors import DataError

from .formats import load_arrays, save_arrays
from .registry import DatasetSpec, RemoteFile

TRAIN_TAR = "ILSVRC2012_img_train.tar"
VAL_TAR = "ILSVRC2012_img_val.tar"
DEVKIT = "ILSVRC2012_devkit_t12.tar.gz"
_UPSTREAM = "https://image-net.org/data/ILSVRC/2012/"
_META = "ILSVRC2012_devkit_t12/data/meta.mat"
_GROUND_TRUTH = "ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt"
_CLASS_TAR = re.compile(r"(n\d{8})\.tar")
_TRAIN_IMAGE = re.compile(r"(n\d{8})_\d+\.JPEG")
_VAL_IMAGE = re.compile(r"ILSVRC2012_val_(\d{8})\.JPEG")
_STAMP = "INDEX_SHA256"


def image_folder(prepared: Path) -> Path:
    """The JPEG tree that ``prepare`` wrote beside the prepared index."""
    return prepared.with_suffix(".images")


def _devkit(raw_dir: Path) -> tuple[list[str], list[str], dict[int, str], list[int]]:
    """Sorted leaf WordNet ids, their names, ``ILSVRC2012_ID -> wnid`` and the validation ground truth."""
    from scipy.io import loadmat

    path = raw_dir / DEVKIT
    try:
        with tarfile.open(path) as archive:
            meta = archive.extractfile(_META).read()
            truth = archive.extractfile(_GROUND_TRUTH).read().decode()
    except (KeyError, AttributeError, tarfile.TarError, OSError) as error:
        raise DataError(f"{path}: no readable {_META} and {_GROUND_TRUTH} ({error})") from error
    synsets = loadmat(io.BytesIO(meta), squeeze_me=True)["synsets"]
    leaves = synsets[synsets["num_children"] == 0]
    by_id = {int(i): str(w) for i, w in zip(leaves["ILSVRC2012_ID"], leaves["WNID"])}
    names = {str(w): str(words) for w, words in zip(leaves["WNID"], leaves["words"])}
    wnids = sorted(names)
    return wnids, [names[w] for w in wnids], by_id, [int(line) for line in truth.split()]


def _member_name(member: tarfile.TarInfo, pattern: re.Pattern, archive: str) -> re.Match:
    """The regular file's name matched against ``pattern``; anything else in an official archive is an error
    (which also keeps every write inside the staging folder: the patterns admit no path separators)."""
    match = pattern.fullmatch(member.name)
    if not member.isfile() or match is None:
        raise DataError(f"{archive}: unexpected member '{member.name}' (not an ILSVRC-2012 file)")
    return match


def _write(stream, target: Path) -> None:
    with open(target, "wb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)


def _extract_train(path: Path, folder: Path, label_of: dict[str, int]) -> tuple[list[str], list[int]]:
    """Stream the tar of per-class tars into ``folder/train/<wnid>/`` (no intermediate copy of the inner tars)."""
    paths, labels = [], []
    with tarfile.open(path, mode="r|") as outer:
        for member in outer:
            wnid = _member_name(member, _CLASS_TAR, path.name).group(1)
            if wnid not in label_of:
                raise DataError(f"{path.name}: class archive '{member.name}' is not a leaf synset of {DEVKIT}")
            (folder / "train" / wnid).mkdir(parents=True, exist_ok=True)
            with tarfile.open(fileobj=outer.extractfile(member), mode="r|") as inner:
                for image in inner:
                    match = _member_name(image, _TRAIN_IMAGE, f"{path.name}/{member.name}")
                    if match.group(1) != wnid:
                        raise DataError(f"{path.name}/{member.name}: image '{image.name}' belongs to {match.group(1)}")
                    relative = f"train/{wnid}/{image.name}"
                    _write(inner.extractfile(image), folder / relative)
                    paths.append(relative)
                    labels.append(label_of[wnid])
    return paths, labels


def _extract_val(path: Path, folder: Path, truth: list[int], by_id: dict[int, str],
                 label_of: dict[str, int]) -> tuple[list[str], list[int]]:
    paths, labels = [], []
    (folder / "val").mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, mode="r|") as archive:
        for member in archive:
            number = int(_member_name(member, _VAL_IMAGE, path.name).group(1))
            if not 1 <= number <= len(truth):
                raise DataError(f"{path.name}: '{member.name}' has no line in {_GROUND_TRUTH} ({len(truth)} lines)")
            relative = f"val/{member.name}"
            _write(archive.extractfile(member), folder / relative)
            paths.append(relative)
            labels.append(label_of[by_id[truth[number - 1]]])
    if len(paths) != len(truth):
        raise DataError(f"{path.name}: {len(paths)} images, but {_GROUND_TRUTH} labels {len(truth)}")
    return paths, labels


def _sorted(paths: list[str], labels: list[int]) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(paths, kind="stable")
    return np.array(paths, dtype=np.bytes_)[order], np.array(labels, dtype=np.int64)[order]


def _index_sha256(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def prepare(raw_dir: Path, out: Path) -> None:
    """Extract the JPEGs into a staging folder, then move it to ``<out>.images`` and write the index.

    Any failure (a member that is not an ILSVRC-2012 file, a class or label missing from the devkit)
    removes the staging folder, so nothing half-extracted is left beside ``out``.
    """
    wnids, names, by_id, truth = _devkit(raw_dir)
    label_of = {wnid: index for index, wnid in enumerate(wnids)}
    unknown = sorted(set(truth) - set(by_id))
    if unknown:
        raise DataError(f"{DEVKIT}: validation labels {unknown[:5]} are not leaf ILSVRC2012_IDs")
    folder = image_folder(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{folder.name}.", dir=out.parent))
    try:
        train_paths, y_train = _sorted(*_extract_train(raw_dir / TRAIN_TAR, staging, label_of))
        test_paths, y_test = _sorted(*_extract_val(raw_dir / VAL_TAR, staging, truth, by_id, label_of))
        stamp = _index_sha256(train_paths, y_train, test_paths, y_test)
        (staging / _STAMP).write_text(stamp + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    save_arrays(out, train_paths=train_paths, y_train=y_train, test_paths=test_paths, y_test=y_test,
                classes=np.array(wnids), class_names=np.array(names), folder_sha256=np.array(stamp))


def verified_folder(prepared: Path, index: dict[str, np.ndarray] | None = None) -> Path:
    """The JPEG tree of ``prepared``, checked to be the one written with this index."""
    index = index if index is not None else load_arrays(prepared)
    folder = image_folder(prepared)
    stamp = folder / _STAMP
    if not stamp.is_file() or stamp.read_text().strip() != str(index["folder_sha256"]):
        raise DataError(f"{folder}: missing or not the image folder {prepared} was prepared with; delete {prepared} "
                        "and run again to prepare it anew")
    return folder


DATASETS = (
    DatasetSpec(
        name="imagenet",
        title="ImageNet (ILSVRC-2012 classification)",
        licence="ImageNet terms of access: non-commercial research and educational use only; not redistributable",
        citation="Russakovsky et al., ImageNet Large Scale Visual Recognition Challenge, IJCV 115(3), 2015",
        homepage="https://image-net.org/challenges/LSVRC/2012/",
        files=(
            RemoteFile(TRAIN_TAR, "b08200a27a8e34218a0e58fde36b0fe8f73bc377f4acea2d91602057c3ca45bb",
                       (_UPSTREAM + TRAIN_TAR,)),
            RemoteFile(VAL_TAR, "c7e06a6c0baccf06d8dbeb6577d71efff84673a5dbdd50633ab44f8ea0456ae0",
                       (_UPSTREAM + VAL_TAR,)),
            RemoteFile(DEVKIT, "b59243268c0d266621fd587d2018f69e906fb22875aca0e295b48cafaa927953",
                       (_UPSTREAM + DEVKIT,)),
        ),
        prepare=prepare,
        fetch_minutes=720,
        prepare_minutes=720,
        notes="Login required: place the three official files in <mirror>/imagenet/ and run with download=true. "
              "About 147 GB of archives; preparation extracts as much again.",
    ),
)
