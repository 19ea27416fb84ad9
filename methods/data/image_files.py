"""Images decoded from a prepared JPEG folder while training (ImageNet), with plain torch and Pillow.

:class:`ImageFiles` stands where an in-memory image tensor stands in :mod:`methods.models.training`
and :mod:`methods.baselines.models`: ``len``, ``shape``, ``dim()`` and indexing (an int, a slice or
a tensor of indices gives the evaluation view of those images as a float tensor), plus batch
iterators that decode in ``workers`` DataLoader processes: :meth:`ImageFiles.train_batches` with
random-resized-crop augmentation, :meth:`ImageFiles.eval_batches` with the evaluation view.

* Training: a random crop of 8% to 100% of the image area with aspect ratio in [3/4, 4/3], resized to
  224x224, flipped horizontally with probability 1/2 (Szegedy et al., Going Deeper with Convolutions,
  CVPR 2015, Section 6; the augmentation of torchvision's reference ImageNet recipe).
* Evaluation: shorter side resized to 256, central 224x224 crop (He et al. 2016, Section 3.4, single-crop
  testing at 224 as in torchvision's reference recipe, ``references/classification/presets.py``).
* Both: RGB in [0, 1], normalized with the ImageNet channel means (0.485, 0.456, 0.406) and standard
  deviations (0.229, 0.224, 0.225) of that recipe (``pytorch/vision`` at 826659e7, presets.py).

Every training example's crop and flip come from a generator seeded by (run seed, epoch, position in
the epoch), so the batches do not depend on the number of workers and a resumed epoch draws exactly
the crops of an uninterrupted one.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from methods.core.errors import DataError
from methods.core.seeding import derive_seed

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
CROP = 224
RESIZE = 256
AREA = (0.08, 1.0)
RATIO = (3 / 4, 4 / 3)
EVAL_BATCH = 256


def _open(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError) as error:
        raise DataError(f"image {path} is unreadable ({error}); delete the prepared dataset and prepare it anew") from error


def _to_tensor(image: Image.Image) -> torch.Tensor:
    pixels = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1).float() / 255.0
    return (pixels - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]


def eval_view(image: Image.Image) -> torch.Tensor:
    """Shorter side to :data:`RESIZE` (bilinear), central :data:`CROP` square, normalized."""
    width, height = image.size
    scale = RESIZE / min(width, height)
    width, height = round(width * scale), round(height * scale)
    image = image.resize((width, height), Image.BILINEAR)
    left, top = round((width - CROP) / 2), round((height - CROP) / 2)
    return _to_tensor(image.crop((left, top, left + CROP, top + CROP)))


def crop_box(width: int, height: int, generator: torch.Generator) -> tuple[int, int, int, int]:
    """A random box of :data:`AREA` of the image's area and aspect ratio in :data:`RATIO` (ten tries;
    then the largest central box whose ratio is within :data:`RATIO`)."""
    area = width * height
    for _ in range(10):
        u = torch.rand(3, generator=generator).tolist()
        target = area * (AREA[0] + (AREA[1] - AREA[0]) * u[0])
        ratio = math.exp(math.log(RATIO[0]) + (math.log(RATIO[1]) - math.log(RATIO[0])) * u[1])
        w, h = round(math.sqrt(target * ratio)), round(math.sqrt(target / ratio))
        if 0 < w <= width and 0 < h <= height:
            left = int(torch.randint(0, width - w + 1, (), generator=generator))
            top = int(torch.randint(0, height - h + 1, (), generator=generator))
            return left, top, left + w, top + h
    ratio = min(max(width / height, RATIO[0]), RATIO[1])
    w, h = (width, round(width / ratio)) if width / height < ratio else (round(height * ratio), height)
    w, h = min(w, width), min(h, height)
    left, top = (width - w) // 2, (height - h) // 2
    return left, top, left + w, top + h


def train_view(image: Image.Image, generator: torch.Generator) -> torch.Tensor:
    """Random-resized crop to :data:`CROP` x :data:`CROP` (bilinear), horizontal flip with probability 1/2."""
    box = crop_box(*image.size, generator)
    image = image.resize((CROP, CROP), Image.BILINEAR, box=box)
    if float(torch.rand((), generator=generator)) < 0.5:
        image = image.transpose(Image.FLIP_LEFT_RIGHT)
    return _to_tensor(image)


class _Decode(torch.utils.data.Dataset):
    """What a DataLoader worker does with one key: ``(index, None)`` evaluation view, ``(index, seed)`` training view."""

    def __init__(self, root: Path, paths: np.ndarray, labels: torch.Tensor):
        self.root, self.paths, self.labels = root, paths, labels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, key: tuple[int, int | None]):
        index, seed = key
        image = _open(self.root / self.paths[index].decode())
        view = eval_view(image) if seed is None else train_view(image, torch.Generator().manual_seed(seed))
        return view, self.labels[index]


def _collate(items):
    images, labels = zip(*items)
    return torch.stack(images).contiguous(memory_format=torch.channels_last), torch.stack(labels)


class ImageFiles:
    """The images ``root / paths[i]`` with labels ``labels[i]``, decoded on demand (see the module docstring)."""

    def __init__(self, root: Path, paths: np.ndarray, labels: torch.Tensor, workers: int = 0):
        if len(paths) != len(labels):
            raise DataError(f"{root}: {len(paths)} image paths but {len(labels)} labels")
        self.root, self.paths, self.labels, self.workers = Path(root), paths, labels, workers
        self._decode = _Decode(self.root, paths, labels)

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self), 3, CROP, CROP)

    def dim(self) -> int:
        return 4

    def __getitem__(self, index) -> torch.Tensor:
        """The evaluation view of the images at ``index`` (an int, a slice or a tensor of indices)."""
        if isinstance(index, int):
            return self._decode[(index, None)][0]
        positions = range(len(self))[index] if isinstance(index, slice) else torch.as_tensor(index).tolist()
        return _collate([self._decode[(i, None)] for i in positions])[0]

    def _loader(self, batches: list[list[tuple[int, int | None]]], pin: bool):
        return torch.utils.data.DataLoader(self._decode, batch_sampler=batches, num_workers=self.workers,
                                           collate_fn=_collate, pin_memory=pin)

    def train_batches(self, order: torch.Tensor, start: int, batch_size: int, augment: bool, seed: int, epoch: int,
                      pin: bool = False):
        """``(first position, images, labels)`` of the batches of ``order`` from position ``start`` on:
        training views (``augment``, seeded by ``(seed, epoch, position)``) or evaluation views."""
        positions = range(start, len(order), batch_size)
        batches = [[(int(order[p]), derive_seed(seed, "augment", epoch, p) if augment else None)
                    for p in range(first, min(first + batch_size, len(order)))] for first in positions]
        for first, (images, labels) in zip(positions, self._loader(batches, pin)):
            yield first, images, labels

    def eval_batches(self, batch_size: int, pin: bool = False):
        """``(images, labels)`` of the evaluation view, in order, at most :data:`EVAL_BATCH` images a batch
        (each worker holds two decoded batches ahead)."""
        batch_size = min(batch_size, EVAL_BATCH)
        batches = [[(i, None) for i in range(first, min(first + batch_size, len(self)))]
                   for first in range(0, len(self), batch_size)]
        yield from self._loader(batches, pin)
