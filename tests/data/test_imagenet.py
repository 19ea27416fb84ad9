"""ImageNet (ILSVRC-2012) on a fabricated miniature of the official files: prepare, index, loader, fetch."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from methods.core.errors import ChecksumError, DataError
from methods.data import imagenet
from methods.data.fetch import fetch_dataset
from methods.data.formats import load_arrays
from methods.data.image_files import CROP, MEAN, STD, ImageFiles

# leaf synsets in ILSVRC2012_ID order, deliberately not in WordNet-id order; one inner (non-leaf) synset
LEAVES = [(1, "n03000002", "crane"), (2, "n01000001", "tench, Tinca tinca"), (3, "n02000003", "goldfish")]
COLOURS = {"n01000001": (200, 30, 30), "n02000003": (30, 200, 30), "n03000002": (30, 30, 200)}
VAL_TRUTH = [1, 3, 2, 1]  # ILSVRC2012_ID of val images 1..4


def _jpeg(colour, size, texture_seed: int | None = None) -> bytes:
    """A JPEG of one colour, or (``texture_seed``) of seeded noise around it, so that crops differ."""
    image = Image.new("RGB", size, colour)
    if texture_seed is not None:
        noise = np.random.default_rng(texture_seed).integers(-60, 60, (size[1], size[0], 3))
        image = Image.fromarray(np.clip(np.array(colour) + noise, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def _add(archive: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    archive.addfile(info, io.BytesIO(payload))


def _tar(path: Path, members: dict[str, bytes], mode: str = "w") -> None:
    with tarfile.open(path, mode) as archive:
        for name, payload in members.items():
            _add(archive, name, payload)


def _meta_mat() -> bytes:
    from scipy.io import savemat

    fields = ["ILSVRC2012_ID", "WNID", "words", "gloss", "num_children", "children", "wordnet_height",
              "num_train_images"]
    rows = [(i, w, words, "a gloss", 0, np.zeros((0,)), 0, 2) for i, w, words in LEAVES]
    rows.append((1001, "n00000009", "fish", "an inner node", 2, np.array([2, 3]), 1, 0))
    synsets = np.empty(len(rows), dtype=[(f, object) for f in fields])
    for index, row in enumerate(rows):
        synsets[index] = row
    buffer = io.BytesIO()
    savemat(buffer, {"synsets": synsets})
    return buffer.getvalue()


def make_ilsvrc(raw: Path, extra_train_member: tuple[str, bytes] | None = None) -> Path:
    """The three official files in miniature: 2 training images per class (inner per-class tars), 4 val images."""
    raw.mkdir(parents=True, exist_ok=True)
    inner = {}
    for index, (wnid, colour) in enumerate(sorted(COLOURS.items())):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            for n, size in enumerate([(40 + 10 * index, 30), (30, 50)]):
                _add(archive, f"{wnid}_{n + 1}.JPEG", _jpeg(colour, size, texture_seed=10 * index + n))
        inner[f"{wnid}.tar"] = buffer.getvalue()
    if extra_train_member is not None:
        inner[extra_train_member[0]] = extra_train_member[1]
    _tar(raw / imagenet.TRAIN_TAR, inner)
    by_id = {i: w for i, w, _ in LEAVES}
    _tar(raw / imagenet.VAL_TAR, {f"ILSVRC2012_val_{n:08d}.JPEG": _jpeg(COLOURS[by_id[i]], (60, 45))
                                  for n, i in enumerate(VAL_TRUTH, 1)})
    _tar(raw / imagenet.DEVKIT, {
        "ILSVRC2012_devkit_t12/data/meta.mat": _meta_mat(),
        "ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt": "".join(f"{i}\n" for i in VAL_TRUTH).encode(),
    }, mode="w:gz")
    return raw


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("imagenet")
    out = root / "prepared" / "imagenet.npz"
    imagenet.prepare(make_ilsvrc(root / "raw"), out)
    return out


def test_prepare_writes_the_jpeg_tree_and_an_index_with_devkit_labels(prepared):
    index = load_arrays(prepared)
    # labels are positions in sorted WordNet-id order, whatever the devkit's ILSVRC2012_ID order
    assert list(index["classes"]) == ["n01000001", "n02000003", "n03000002"]
    assert list(index["class_names"]) == ["tench, Tinca tinca", "goldfish", "crane"]
    assert [p.decode() for p in index["train_paths"][:2]] == ["train/n01000001/n01000001_1.JPEG",
                                                             "train/n01000001/n01000001_2.JPEG"]
    assert list(index["y_train"]) == [0, 0, 1, 1, 2, 2]
    assert [p.decode() for p in index["test_paths"]] == [f"val/ILSVRC2012_val_{n:08d}.JPEG" for n in range(1, 5)]
    assert list(index["y_test"]) == [2, 1, 0, 2]  # ground truth IDs 1, 3, 2, 1
    folder = imagenet.verified_folder(prepared)
    assert all((folder / p.decode()).is_file() for p in np.concatenate([index["train_paths"], index["test_paths"]]))
    assert not [p for p in prepared.parent.iterdir() if p.name.startswith(".tmp-")]


def test_a_stranger_member_in_an_official_archive_fails_and_leaves_nothing(tmp_path):
    raw = make_ilsvrc(tmp_path / "raw", extra_train_member=("../escape.tar", b"x"))
    out = tmp_path / "prepared" / "imagenet.npz"
    with pytest.raises(DataError, match=r"ILSVRC2012_img_train.tar: unexpected member '\.\./escape\.tar'"):
        imagenet.prepare(raw, out)
    assert list(out.parent.iterdir()) == []
    assert not (tmp_path / "escape.tar").exists()


def test_a_folder_from_another_preparation_is_refused(prepared, tmp_path):
    import shutil

    copy = tmp_path / "imagenet.npz"
    shutil.copy(prepared, copy)
    shutil.copytree(imagenet.image_folder(prepared), imagenet.image_folder(copy))
    (imagenet.image_folder(copy) / "INDEX_SHA256").write_text("0" * 64)
    with pytest.raises(DataError, match="not the image folder"):
        imagenet.verified_folder(copy)


def test_evaluation_view_is_a_normalized_224_crop(prepared):
    index = load_arrays(prepared)
    files = ImageFiles(imagenet.verified_folder(prepared), index["test_paths"], torch.from_numpy(index["y_test"]))
    assert len(files) == 4 and files.shape == (4, 3, CROP, CROP) and files.dim() == 4
    image = files[1]  # val image 2: class n02000003, colour (30, 200, 30)
    assert image.shape == (3, CROP, CROP)
    expected = (torch.tensor([30, 200, 30]) / 255.0 - torch.tensor(MEAN)) / torch.tensor(STD)
    assert torch.allclose(image.mean((1, 2)), expected, atol=0.03)  # JPEG rounding only
    batch = files[torch.tensor([3, 0])]
    assert batch.shape == (2, 3, CROP, CROP) and batch.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(batch[1], files[0])


def test_training_views_are_seeded_per_example_not_per_worker(prepared):
    index = load_arrays(prepared)
    labels = torch.from_numpy(index["y_train"])
    order = torch.tensor([5, 0, 3, 1, 4, 2])
    views = {}
    for workers in (0, 2):
        files = ImageFiles(imagenet.verified_folder(prepared), index["train_paths"], labels, workers)
        views[workers] = list(files.train_batches(order, 2, 3, True, seed=7, epoch=1))
    assert [(first, len(images)) for first, images, _ in views[0]] == [(2, 3), (5, 1)]
    for (_, a, ya), (_, b, yb) in zip(views[0], views[2]):
        assert a.shape[1:] == (3, CROP, CROP) and torch.equal(a, b) and torch.equal(ya, yb)
    assert views[0][0][2].tolist() == labels[order[2:5]].tolist()
    files = ImageFiles(imagenet.verified_folder(prepared), index["train_paths"], labels)
    other_epoch = list(files.train_batches(order, 2, 3, True, seed=7, epoch=2))
    assert not torch.equal(other_epoch[0][1], views[0][0][1])


def test_load_split_and_training_read_the_prepared_folder(prepared):
    from methods.baselines.models import load_split
    from methods.models.small_cnn import SmallCNN
    from methods.models.training import TrainConfig, accuracy, train_classifier

    split = load_split("imagenet", prepared, {})
    assert split.classes == 3 and len(split.x_train) == 6 and split.y_test.tolist() == [2, 1, 0, 2]
    torch.manual_seed(0)
    model = SmallCNN(3, 3, (4, 8), CROP)
    config = TrainConfig(epochs=2, batch_size=3, lr=0.05, augment="random_resized_crop")
    summary = train_classifier(model, split.x_train, split.y_train, config, seed=0, run_name="imagenet-toy")
    assert summary["steps"] == 4 and all(np.isfinite(summary["train_loss"]))
    assert 0 <= accuracy(model, split.x_test, split.y_test) <= 100
    with pytest.raises(ValueError, match="crop_flip"):
        train_classifier(model, split.x_train, split.y_train, TrainConfig(epochs=1, batch_size=3, lr=0.05,
                                                                          augment="crop_flip"), 0, "bad")


def test_a_file_that_fails_its_checksum_is_named_and_not_kept(tmp_path):
    mirror = tmp_path / "mirror"
    make_ilsvrc(mirror / "imagenet")
    raw = tmp_path / "raw"
    with pytest.raises(ChecksumError, match=r"ILSVRC2012_img_train\.tar.*expected sha256 b08200a2"):
        fetch_dataset("imagenet", raw, mirrors=[str(mirror)])
    assert list(raw.iterdir()) == []


def test_imagenet_is_download_only_and_registered_with_torchvisions_hashes():
    from methods.data.registry import get_dataset

    spec = get_dataset("imagenet")
    assert spec.needs_download
    assert {f.name: f.sha256[:8] for f in spec.files} == {
        imagenet.TRAIN_TAR: "b08200a2", imagenet.VAL_TAR: "c7e06a6c", imagenet.DEVKIT: "b5924326"}
    assert all(f.urls == (f"https://image-net.org/data/ILSVRC/2012/{f.name}",) for f in spec.files)
