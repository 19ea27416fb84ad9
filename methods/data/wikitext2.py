"""WikiText-2, raw character-level version (Merity, Xiong, Bradbury & Socher, 2016). Download only.

The archive ``wikitext-2-raw-v1.zip`` holds ``wikitext-2-raw/wiki.{train,valid,test}.raw``. Its
SHA-256 is the one the Hugging Face ``datasets`` loader checked for the original S3 file
(``download_checksums`` of ``datasets/wikitext/dataset_infos.json`` in huggingface/datasets at
commit 7737311ffa151c435600b0b486190d515d80949e: 4,721,645 bytes); the second URL is the copy that
llama.cpp's ``scripts/get-wikitext-2.sh`` fetches, accepted only with the same bytes.

The prepared form keeps each split's text unchanged (``train``, ``validation``, ``test``);
:func:`rows` gives the rows the ``datasets`` loader yields from it, which the language-model
perplexity protocol joins (:mod:`methods.pruning.lm_windows`).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from methods.core.errors import DataError

from .formats import save_arrays
from .registry import DatasetSpec, RemoteFile

NAME = "wikitext2"
ARCHIVE = "wikitext-2-raw-v1.zip"
ARCHIVE_SHA256 = "ef7edb566e3e2b2d31b29c1fdb0c89a4cc683597484c3dc2517919c615435a11"
MEMBERS = {"train": "wikitext-2-raw/wiki.train.raw", "validation": "wikitext-2-raw/wiki.valid.raw",
           "test": "wikitext-2-raw/wiki.test.raw"}


def rows(text: str) -> list[str]:
    """The split as the ``datasets`` loader's rows: every line with its newline, blank lines as ``""``."""
    return [line if line.strip() else "" for line in text.splitlines(keepends=True)]


def prepare(raw_dir: Path, out: Path) -> None:
    archive = raw_dir / ARCHIVE
    try:
        with zipfile.ZipFile(archive) as handle:
            present = set(handle.namelist())
            missing = [member for member in MEMBERS.values() if member not in present]
            if missing:
                raise DataError(f"{archive}: no member {missing[0]} (expected {sorted(MEMBERS.values())})")
            texts = {split: handle.read(member).decode("utf-8") for split, member in MEMBERS.items()}
    except (OSError, zipfile.BadZipFile, UnicodeDecodeError) as error:
        raise DataError(f"{archive}: unreadable ({error}); delete it and fetch again") from error
    save_arrays(out, **{split: np.array(text) for split, text in texts.items()})


DATASETS = (
    DatasetSpec(
        name=NAME,
        title="WikiText-2 (raw)",
        licence="Creative Commons Attribution-ShareAlike (as its description in the datasets loader states)",
        citation="Merity, Xiong, Bradbury & Socher, Pointer Sentinel Mixture Models, arXiv 1609.07843, 2016",
        homepage="https://blog.einstein.ai/the-wikitext-long-term-dependency-language-modeling-dataset/",
        files=(RemoteFile(ARCHIVE, ARCHIVE_SHA256,
                          ("https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-raw-v1.zip",
                           "https://huggingface.co/datasets/ggml-org/ci/resolve/main/wikitext-2-raw-v1.zip")),),
        prepare=prepare,
        notes="Download only (download=true or a mirror): the paper-scale Bonsai table's perplexity text.",
    ),
)
