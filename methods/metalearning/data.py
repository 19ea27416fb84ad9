"""Class splits of the prepared few-shot datasets as :class:`.episodes.ClassPool` objects.

* ``glyphs`` (synthetic): split by alphabet (script), as Omniglot's background/evaluation sets are;
  background scripts train, Armenian validates, the rest test. ``train_classes`` keeps a fixed
  subset (seeded by ``split_seed``, the same for every run) of the background letters, the small
  training set on which augmentation matters (brief §5.3).
* ``omniglot``: characters in upstream order (the npz repack sorts them by Omniglot's numeric
  character id, background set first), 1,028 / 172 / 423 for train / validation / test, 90-degree
  rotations as extra classes unless ``rotations`` is false. The sizes are those of the Vinyals et al.
  split that Snell et al. 2017 use, but the membership is NOT: the official split files
  (jakesnell/prototypical-networks @ c9bb4d2, ``data/omniglot/splits/vinyals/{train,val,test}.txt``)
  take validation from five *background* alphabets (Hebrew, Mkhedruli, Armenian, Early_Aramaic,
  Bengali) and test from 12 evaluation alphabets plus 4 Gurmukhi characters, whereas upstream order
  validates on evaluation characters 65-236. The repack stores no alphabet or character names, and
  the only name-carrying upstream files reachable offline (Lake's ``images_background_small*``)
  cover 9 background alphabets, so the exact Vinyals membership cannot be rebuilt here.
  ``trainval`` merges validation into training (Snell et al. retrain on train + val, Sec. 3.1);
  ``normalize`` gives every split the training split's per-channel mean and std (items then come
  out normalized, as in the official MetaAug loaders; Omniglot as Snell et al. is left in [0, 1]);
  ``val_classes`` keeps a fixed subset of the validation characters for a cheap learning curve.
* ``cifar_fs``, ``fc100``, ``mini_imagenet``: the per-class ``split`` array of the prepared file
  (0 train, 1 validation, 2 test), with the papers' standard class lists.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from methods.core.errors import ConfigError
from methods.core.seeding import derive_seed
from methods.data.formats import load_arrays

from .episodes import ClassPool

GLYPH_VALIDATION = ("ARMENIAN",)
GLYPH_TEST = ("CYRILLIC", "GEORGIAN", "GREEK", "LAO")
OMNIGLOT_SPLIT = (1028, 172, 423)


def _subset(classes: np.ndarray, count, split_seed: int, split: str) -> np.ndarray:
    if count is None:
        return classes
    if not 1 <= int(count) <= len(classes):
        raise ConfigError(f"{split}_classes", count, f"between 1 and the {len(classes)} classes of the {split} split")
    rng = np.random.default_rng(derive_seed(split_seed, f"{split}_classes"))
    return np.sort(rng.choice(classes, int(count), replace=False))


def _with_channel(images: np.ndarray) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(images))
    return tensor[:, :, None] if tensor.dim() == 4 else tensor


def split_indices(dataset: str, arrays: dict) -> dict[str, np.ndarray]:
    if dataset == "glyphs":
        names = [str(n) for n in arrays["alphabet_names"]]
        script = np.array([names[i] for i in arrays["alphabet"]])
        val, test = np.isin(script, GLYPH_VALIDATION), np.isin(script, GLYPH_TEST)
        return {"train": np.flatnonzero(~val & ~test), "val": np.flatnonzero(val), "test": np.flatnonzero(test)}
    if dataset == "omniglot":
        train, val, _ = OMNIGLOT_SPLIT
        order = np.arange(len(arrays["images"]))
        return {"train": order[:train], "val": order[train:train + val], "test": order[train + val:]}
    if "split" in arrays:
        return {name: np.flatnonzero(arrays["split"] == code) for code, name in enumerate(("train", "val", "test"))}
    raise ConfigError("dataset", dataset, "a prepared few-shot dataset (glyphs, omniglot, cifar_fs, fc100, mini_imagenet)")


def load_pools(dataset: str, path: Path, params: dict) -> dict[str, ClassPool]:
    """The train / val / test pools of ``dataset`` for a run with ``params``."""
    arrays = load_arrays(path)
    splits = split_indices(dataset, arrays)
    split_seed = int(params.get("split_seed", 0))
    if params.get("trainval"):
        splits["train"] = np.concatenate([splits["train"], splits["val"]])
    splits["train"] = _subset(splits["train"], params.get("train_classes"), split_seed, "train")
    splits["val"] = _subset(splits["val"], params.get("val_classes"), split_seed, "val")
    rotations = bool(params.get("rotations", False))
    images = arrays["images"]
    mean = std = None
    if params.get("normalize"):
        mean, std = channel_statistics(_with_channel(images[splits["train"]]))
    return {name: ClassPool(_with_channel(images[idx]), rotations, f"{dataset}/{name}", mean, std)
            for name, idx in splits.items()}


def channel_statistics(images: torch.Tensor, chunk: int = 64) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of uint8 images ``(classes, per_class, C, H, W)`` in
    [0, 1] units: the training split's, as the official loaders normalize with training-set statistics
    (RenkunNi/MetaAug @ 79d1a6a, ``mean_pix`` / ``std_pix``). Summed in float64, a chunk of classes at a time."""
    channels = images.shape[2]
    total, squares, count = torch.zeros(channels, dtype=torch.float64), torch.zeros(channels, dtype=torch.float64), 0
    for start in range(0, len(images), chunk):
        x = images[start:start + chunk].to(torch.float64).div_(255).transpose(0, 2).reshape(channels, -1)
        total += x.sum(1)
        squares += (x * x).sum(1)
        count += x.shape[1]
    mean = total / count
    std = (squares / count - mean * mean).clamp_min(1e-12).sqrt()
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


def lake_runs(path: Path) -> dict[str, np.ndarray]:
    arrays = load_arrays(path)
    return {k: arrays[k] for k in ("runs_train", "runs_test", "runs_answer")}
