"""WikiText-2 (raw): prepared from a small zip with the real archive layout, and refused when its bytes differ."""

from __future__ import annotations

import hashlib
import zipfile

import pytest

from methods.core.errors import ChecksumError, DataError
from methods.data import fetch, wikitext2
from methods.data.formats import load_arrays
from methods.data.registry import get_dataset

TEXTS = {
    "wikitext-2-raw/wiki.train.raw": " \n = Valkyria Chronicles III = \n \n Senjō no Valkyria 3 is a game . \n",
    "wikitext-2-raw/wiki.valid.raw": " \n = Homarus gammarus = \n \n It is a lobster . \n",
    "wikitext-2-raw/wiki.test.raw": " \n = Robert Boulter = \n \n He is an actor . \n \n = = Career = = \n",
}


def _archive(path, members=TEXTS):
    with zipfile.ZipFile(path, "w") as handle:
        for name, text in members.items():
            handle.writestr(name, text.encode("utf-8"))
    return path


def test_registered_as_download_only_with_its_published_checksum():
    spec = get_dataset(wikitext2.NAME)
    assert spec.needs_download
    (remote,) = spec.files
    assert remote.name == "wikitext-2-raw-v1.zip" and remote.sha256 == wikitext2.ARCHIVE_SHA256
    assert "https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-raw-v1.zip" in remote.urls


def test_prepare_keeps_every_split_text_unchanged(tmp_path):
    _archive(tmp_path / wikitext2.ARCHIVE)
    get_dataset(wikitext2.NAME).prepare(tmp_path, tmp_path / "wikitext2.npz")
    arrays = load_arrays(tmp_path / "wikitext2.npz")
    assert sorted(arrays) == ["test", "train", "validation"]
    assert arrays["test"].shape == () and arrays["test"].dtype.kind == "U"  # one string, no pickled object
    assert str(arrays["train"]) == TEXTS["wikitext-2-raw/wiki.train.raw"]  # non-ASCII text survives
    assert str(arrays["validation"]) == TEXTS["wikitext-2-raw/wiki.valid.raw"]


def test_rows_are_the_datasets_loaders_lines():
    """Each line keeps its newline; a whitespace-only line becomes an empty row."""
    assert wikitext2.rows(TEXTS["wikitext-2-raw/wiki.test.raw"]) == [
        "", " = Robert Boulter = \n", "", " He is an actor . \n", "", " = = Career = = \n"]


def test_an_archive_without_a_split_is_named_and_nothing_is_written(tmp_path):
    members = {name: text for name, text in TEXTS.items() if "test" not in name}
    _archive(tmp_path / wikitext2.ARCHIVE, members)
    with pytest.raises(DataError, match="wikitext-2-raw/wiki.test.raw"):
        wikitext2.prepare(tmp_path, tmp_path / "wikitext2.npz")
    assert not (tmp_path / "wikitext2.npz").exists()


def test_a_mirror_copy_with_other_bytes_is_refused_by_name_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(fetch.MIRROR_ENV, raising=False)
    mirror = tmp_path / "mirror"
    (mirror / wikitext2.NAME).mkdir(parents=True)
    fake = _archive(mirror / wikitext2.NAME / wikitext2.ARCHIVE)
    raw = tmp_path / "raw"
    with pytest.raises(ChecksumError) as error:
        fetch.fetch_dataset(wikitext2.NAME, raw, mirrors=[str(mirror)])
    message = str(error.value)
    assert wikitext2.ARCHIVE in message and wikitext2.ARCHIVE_SHA256 in message
    assert hashlib.sha256(fake.read_bytes()).hexdigest() in message
    assert list(raw.iterdir()) == []  # no archive, no manifest, no temporary file

