"""Omniglot (Lake, Salakhutdinov & Tenenbaum, Science 2015): 1,623 characters x 20 drawers.

Upstream: a pixel-identical npz repack of the official PNG zips, plus Lake's 20 official
20-way one-shot classification runs. Prepared form: every character resized to 28x28
(ink = 255), in the background-then-evaluation order of the upstream files, and the runs'
images and answer keys.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from methods.core.errors import DataError

from .archive import extract
from .formats import save_arrays
from .registry import DatasetSpec, RemoteFile

_NPZ = "https://github.com/bitsandscraps/omniglot/raw/b0481240b7eb42393285a93ce7d2f266ff10c62b/"
_RUNS = "https://github.com/brendenlake/omniglot/raw/057f034baf2ecb8530bc5710e5a23584d2a519cc/python/one-shot-classification/all_runs.zip"
SIZE = 28


def _resize(ink: np.ndarray) -> np.ndarray:
    """Resize boolean ink masks (..., 105, 105) to (..., 28, 28) uint8 with Lanczos filtering."""
    from PIL import Image

    flat = ink.reshape(-1, *ink.shape[-2:])
    out = np.empty((len(flat), SIZE, SIZE), dtype=np.uint8)
    for i, image in enumerate(flat):
        out[i] = np.asarray(Image.fromarray(image.astype(np.uint8) * 255).resize((SIZE, SIZE), Image.Resampling.LANCZOS))
    return out.reshape(*ink.shape[:-2], SIZE, SIZE)


def _read_png_ink(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("L")) < 128


def _lake_runs(archive: Path) -> dict[str, np.ndarray]:
    """The 20 runs: 20 training images (one per class) and 20 test images with their answers."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        extract(archive, root)
        train, test, answers = [], [], []
        for run in range(1, 21):
            folder = root / f"run{run:02d}"
            pairs = [line.split() for line in (folder / "class_labels.txt").read_text().split("\n") if line.strip()]
            if len(pairs) != 20:
                raise DataError(f"omniglot: {folder}/class_labels.txt has {len(pairs)} lines, expected 20")
            train.append([_read_png_ink(folder / "training" / f"class{c:02d}.png") for c in range(1, 21)])
            test.append([_read_png_ink(root / item) for item, _ in pairs])
            answers.append([int(Path(cls).stem.removeprefix("class")) - 1 for _, cls in pairs])
    return {
        "runs_train": _resize(np.array(train)),
        "runs_test": _resize(np.array(test)),
        "runs_answer": np.array(answers, dtype=np.int64),
    }


def prepare(raw_dir: Path, out: Path) -> None:
    parts = [np.load(raw_dir / name) for name in ("images_background.npz", "images_evaluation.npz")]
    # upstream stores background True; ink is False
    ink = np.concatenate([~p["images"] for p in parts])
    if ink.shape[:2] != (1623, 20):
        raise DataError(f"omniglot: expected 1623 characters x 20 drawers, found {ink.shape[:2]}")
    save_arrays(
        out,
        images=_resize(ink),
        background=np.arange(1623) < len(parts[0]["images"]),
        **_lake_runs(raw_dir / "all_runs.zip"),
    )


DATASETS = (
    DatasetSpec(
        name="omniglot",
        title="Omniglot (28x28) with Lake's 20 one-shot runs",
        licence="MIT",
        citation="Lake, Salakhutdinov & Tenenbaum, Human-level concept learning through probabilistic "
                 "program induction, Science 350(6266), 2015",
        homepage="https://github.com/brendenlake/omniglot",
        files=(
            RemoteFile("images_background.npz", "8bf84167413cd00beacdce3fe582f780ab538d8dbef043a6d688f2527bbce199",
                       (_NPZ + "images_background.npz",)),
            RemoteFile("images_evaluation.npz", "0b84c7ffd94c4841c0040e529c86a82eaaccb986d8eadad5673f7991b7475276",
                       (_NPZ + "images_evaluation.npz",)),
            RemoteFile("all_runs.zip", "437c1eeab0af8484112e1b4cc0f3d541ec727f7c47b9b202da738af9dfd6c325", (_RUNS,)),
        ),
        prepare=prepare,
    ),
)
