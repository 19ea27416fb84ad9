"""Building a baseline model and its data by name (shared with the studies that start from it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from methods.core.seeding import derive_seed
from methods.data.formats import load_arrays
from methods.data.holdout import holdout_split
from methods.models.mlp import MLP
from methods.models.resnet_cifar import resnet20, resnet56
from methods.models.resnet_imagenet import resnet18
from methods.models.small_cnn import SmallCNN

_CIFAR_MEAN, _CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


@dataclass
class Split:
    """Train and test examples: tensors, or :class:`~methods.data.image_files.ImageFiles` for a prepared JPEG folder."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: int


def build_model(method: str, in_shape: tuple[int, ...], classes: int, params: dict) -> nn.Module:
    if method == "mlp":
        return MLP(int(np.prod(in_shape)), tuple(params["hidden"]), classes)
    if method == "cnn":
        return SmallCNN(in_shape[0], classes, tuple(params.get("widths", (32, 64))), in_shape[-1])
    if method == "cnn_fc":
        return SmallCNN(in_shape[0], classes, tuple(params["widths"]), in_shape[-1], hidden=params["hidden"],
                        pool=params["pool"])
    if method == "resnet20":
        return resnet20(classes)
    if method == "resnet56":
        return resnet56(classes)
    if method == "resnet18":
        return resnet18(classes)
    raise ValueError(f"unknown baseline model '{method}'")


def _subset(x: np.ndarray, y: np.ndarray, size: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A class-stratified subset of ``size`` examples, the same for every seed of a study."""
    if not size or size >= len(y):
        return x, y
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(np.arange(len(y)), train_size=size, stratify=y, random_state=seed)
    keep.sort()
    return x[keep], y[keep]


def load_split(dataset: str, path: Path, params: dict, workers: int = 0) -> Split:
    """The train/test tensors of a prepared dataset, normalized, optionally subsampled.

    Image sets keep their official test split; flat sets (digits) use the canonical stratified
    80/20 split stored at prepare time (``methods.data.holdout``), so every run and method sees the
    same test set. A prepared JPEG folder (ImageNet: an index of paths) gives image files decoded
    and normalized on demand by ``workers`` processes.
    """
    arrays = load_arrays(path)
    split_seed = derive_seed(dataset, "split")
    if "train_paths" in arrays:
        return _image_files_split(path, arrays, params, split_seed, workers)
    if "x_train" in arrays:
        x_train, y_train, x_test, y_test = arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"]
    else:
        train, test = holdout_split(arrays, dataset)
        x_train, y_train, x_test, y_test = arrays["x"][train], arrays["y"][train], arrays["x"][test], arrays["y"][test]
    x_train, y_train = _subset(x_train, y_train, params.get("train_size"), split_seed)
    x_test, y_test = _subset(x_test, y_test, params.get("test_size"), split_seed + 1)
    x_train_t, x_test_t = (torch.from_numpy(np.ascontiguousarray(a)).float() for a in (x_train, x_test))
    if x_train_t.dim() == 4:
        x_train_t, x_test_t = x_train_t / 255.0, x_test_t / 255.0
        if x_train_t.shape[1] == 3:
            mean, std = torch.tensor(_CIFAR_MEAN)[None, :, None, None], torch.tensor(_CIFAR_STD)[None, :, None, None]
        else:
            mean, std = x_train_t.mean(), x_train_t.std()
        x_train_t, x_test_t = (x_train_t - mean) / std, (x_test_t - mean) / std
        x_train_t = x_train_t.contiguous(memory_format=torch.channels_last)
        x_test_t = x_test_t.contiguous(memory_format=torch.channels_last)
    else:
        mean, std = x_train_t.mean(0), x_train_t.std(0)
        # a feature constant in the training split is only centred: dividing by a tiny std would
        # blow up the test rows where it varies (digits' border pixels)
        std = torch.where(std < 1e-3, torch.ones_like(std), std)
        x_train_t, x_test_t = (x_train_t - mean) / std, (x_test_t - mean) / std
    classes = int(max(y_train.max(), y_test.max())) + 1
    return Split(x_train_t, torch.from_numpy(y_train).long(), x_test_t, torch.from_numpy(y_test).long(), classes)


def _image_files_split(path: Path, index: dict[str, np.ndarray], params: dict, split_seed: int, workers: int) -> Split:
    from methods.data.image_files import ImageFiles
    from methods.data.imagenet import verified_folder

    folder = verified_folder(path, index)
    x_train, y_train = _subset(index["train_paths"], index["y_train"], params.get("train_size"), split_seed)
    x_test, y_test = _subset(index["test_paths"], index["y_test"], params.get("test_size"), split_seed + 1)
    y_train_t, y_test_t = torch.from_numpy(y_train).long(), torch.from_numpy(y_test).long()
    return Split(ImageFiles(folder, x_train, y_train_t, workers), y_train_t, ImageFiles(folder, x_test, y_test_t, workers),
                 y_test_t, len(index["classes"]))


def load_trained(run_dir: Path, dataset: str, method: str, params: dict, split: Split) -> nn.Module:
    """Rebuild a baseline's model and load its trained weights from ``run_dir/model.pt``."""
    model = build_model(method, tuple(split.x_train.shape[1:]), split.classes, params)
    model.load_state_dict(torch.load(run_dir / "model.pt", weights_only=True))
    if split.x_train.dim() == 4:
        model = model.to(memory_format=torch.channels_last)
    return model.eval()
