"""mini-ImageNet: prepare from an archive laid out like the real one, md5 checking, the paper-scale plan."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest

from methods.core.errors import ChecksumError, DataError
from methods.core.plan import build_plan, left_out_summary
from methods.data import fetch
from methods.data.formats import load_arrays
from methods.data.mini_imagenet import ARCHIVE, PICKLES, RAVI_TEST, RAVI_VAL
from methods.data.registry import RemoteFile, get_dataset

TRAIN = ("n00000001", "n00000002", "n00000003", "n00000004")  # stand-ins for the 64 training classes
IMAGES, SIZE = 3, 8  # per class, pixels (the real archive: 600 images of 84x84)


def _pickle(classes, offset: int, python2_keys: bool) -> tuple[bytes, dict[str, np.ndarray]]:
    """One cache pickle: ``image_data`` (N, H, W, 3) uint8 and ``class_dict`` {wnid: rows}, classes interleaved."""
    rng = np.random.default_rng(offset)
    images = rng.integers(0, 256, size=(len(classes) * IMAGES, SIZE, SIZE, 3), dtype=np.uint8)
    rows = {wnid: list(range(i, len(images), len(classes))) for i, wnid in enumerate(classes)}
    data = {"image_data": images, "class_dict": rows}
    if python2_keys:  # Python 2 pickles of str keys read back as bytes
        data = {k.encode(): ({w.encode(): r for w, r in v.items()} if k == "class_dict" else v) for k, v in data.items()}
    return pickle.dumps(data), {wnid: images[r] for wnid, r in rows.items()}


def _archive(path, splits=(TRAIN, RAVI_VAL, RAVI_TEST)) -> dict[str, np.ndarray]:
    """``mini-imagenet.tar.gz`` with the three pickles at its top level, as the real one; returns wnid -> images."""
    expected = {}
    with tarfile.open(path, "w:gz") as tar:
        for i, (name, classes) in enumerate(zip(PICKLES, splits)):
            payload, images = _pickle(classes, i, python2_keys=i == 1)
            expected.update(images)
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return expected


def _spec_for(archive_bytes: bytes):
    """The registered dataset with the tiny archive's md5 in place of the real one."""
    spec = get_dataset("mini_imagenet")
    remote = dataclasses.replace(ARCHIVE, md5=hashlib.md5(archive_bytes).hexdigest())
    return dataclasses.replace(spec, files=(remote,))


def test_registered_download_only_with_the_md5_torchmeta_publishes():
    spec = get_dataset("mini_imagenet")
    assert spec.needs_download and spec.files == (ARCHIVE,)
    assert ARCHIVE.checksum == ("md5", "b38f1eb4251fb9459ecc8e7febf9b2eb") and ARCHIVE.sha256 == ""
    assert len(RAVI_VAL) == 16 and len(RAVI_TEST) == 20 and not set(RAVI_VAL) & set(RAVI_TEST)


def test_fetch_checks_the_md5_records_the_sha256_and_prepare_builds_the_class_arrays(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror" / "mini_imagenet"
    mirror.mkdir(parents=True)
    expected = _archive(mirror / ARCHIVE.name)
    archive_bytes = (mirror / ARCHIVE.name).read_bytes()
    spec = _spec_for(archive_bytes)
    monkeypatch.setattr(fetch, "get_dataset", lambda name: spec)
    monkeypatch.delenv(fetch.MIRROR_ENV, raising=False)
    raw = tmp_path / "raw"
    entry = fetch.fetch_dataset("mini_imagenet", raw, mirrors=[str(tmp_path / "mirror")])["files"][ARCHIVE.name]
    assert entry["sha256"] == hashlib.sha256(archive_bytes).hexdigest()
    assert entry["md5"] == hashlib.md5(archive_bytes).hexdigest() and entry["checked"].startswith("md5")
    spec.prepare(raw, tmp_path / "mini_imagenet.npz")
    arrays = load_arrays(tmp_path / "mini_imagenet.npz")
    classes = [str(c) for c in arrays["classes"]]
    assert classes == sorted(TRAIN + RAVI_VAL + RAVI_TEST)
    assert arrays["images"].shape == (40, IMAGES, 3, SIZE, SIZE) and arrays["images"].dtype == np.uint8
    split = dict(zip(classes, arrays["split"]))
    assert [sum(v == code for v in split.values()) for code in (0, 1, 2)] == [4, 16, 20]
    assert split[RAVI_VAL[0]] == 1 and split[RAVI_TEST[-1]] == 2 and split[TRAIN[0]] == 0
    for wnid in (TRAIN[2], RAVI_VAL[5], RAVI_TEST[7]):  # channels first, the class's images in pickle order
        np.testing.assert_array_equal(arrays["images"][classes.index(wnid)], expected[wnid].transpose(0, 3, 1, 2))


def test_checksum_mismatch_names_the_file_and_leaves_nothing(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror" / "mini_imagenet"
    mirror.mkdir(parents=True)
    _archive(mirror / ARCHIVE.name)  # not the published archive: its md5 differs
    monkeypatch.delenv(fetch.MIRROR_ENV, raising=False)
    raw = tmp_path / "raw"
    with pytest.raises(ChecksumError, match=r"mini-imagenet\.tar\.gz.*expected md5 b38f1eb4251fb9459ecc8e7febf9b2eb"):
        fetch.fetch_dataset("mini_imagenet", raw, mirrors=[str(tmp_path / "mirror")])
    assert list(raw.iterdir()) == []  # no archive, no temporary, no manifest (prepare cannot run)


def test_an_archive_without_every_ravi_test_class_is_refused_without_output(tmp_path):
    _archive(tmp_path / ARCHIVE.name, splits=(TRAIN, RAVI_VAL, RAVI_TEST[:-1]))
    with pytest.raises(DataError, match=RAVI_TEST[-1]):
        get_dataset("mini_imagenet").prepare(tmp_path, tmp_path / "out.npz")
    assert not (tmp_path / "out.npz").exists()


def test_paper_scale_plans_mini_imagenet_only_with_downloads_and_lists_it_otherwise():
    config = {"scale": "paper", "download": False, "studies": {"metalearning": {"enabled": True}}}
    offline = build_plan(config)
    assert "mini_imagenet" not in offline.datasets
    assert not any(run.dataset == "mini_imagenet" for run in offline.runs.values())
    assert any("mini_imagenet" in line and "download=true" in line for line in left_out_summary(offline))
    online = build_plan({**config, "download": True})
    runs = [run for run in online.runs.values() if run.dataset == "mini_imagenet"]
    assert {(run.method, run.setting) for run in runs} >= {(h, s) for h in ("protonet", "r2d2", "svm")
                                                          for s in ("baseline", "maxup")}
    assert all(run.params["backbone"] == "resnet12" and run.params["drop_block"] == 5 for run in runs)


def test_a_file_names_one_published_checksum():
    with pytest.raises(ValueError, match="sha256.*md5"):
        RemoteFile("x.bin", "", md5="")
    with pytest.raises(ValueError, match="x.bin"):
        RemoteFile("x.bin", "0" * 64, md5="0" * 32)
