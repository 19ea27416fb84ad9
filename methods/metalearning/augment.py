"""Image augmentations on NCHW float tensors in plain torch, with label rows where they mix.

Random parameters come from a :class:`numpy.random.Generator` passed in (the augmentation stream,
separate from the episode and model streams). Settings follow the official code described in the
meta-learning brief, §2.3: CutMix with lambda ~ Beta(2, 2) and lambda recomputed from the box
actually pasted (Yun et al. 2019, Alg. A1); episode MixUp with lambda ~ Beta(1, 1) (Zhang et al.
2018); random erasing with p = 0.5, area (0.02, 0.4), aspect (0.3, 1/0.3), filled with 0 (kornia's
default; Zhong et al. 2020), which on normalized inputs is the per-channel mean; self-mix, which
pastes a random half-size patch of each image elsewhere in it, turned by k*90 degrees (Seo et al. 2021, as in ``augmentations.py``); large
rotations by k*90 degrees; flips; padded random crops; small random rotations.

:func:`standard` is the official per-image training transform (``feat_aug='norm'`` in
RenkunNi/MetaAug @ 79d1a6a, ``metadatas/CIFAR_FS.py`` and ``mini_imagenet.py``): a random crop after
zero padding (4 px at 32 px, 8 px at 84 px), colour jitter (brightness, contrast, saturation 0.4, in
a random order per image) and a horizontal flip with p = 0.5, on images in [0, 1] before they are
normalized. Jitter only applies to colour images; the flip only where the data allows it (not on
characters, whose mirror images can be other characters).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def cutmix_box(height: int, width: int, lam: float, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """The CutMix box for area fraction ``1 - lam``: centre uniform, clipped to the image."""
    cut = math.sqrt(1.0 - lam)
    h, w = int(height * cut), int(width * cut)
    cy, cx = int(rng.integers(height)), int(rng.integers(width))
    return (max(cy - h // 2, 0), min(cy + h // 2, height), max(cx - w // 2, 0), min(cx + w // 2, width))


def cutmix(x: torch.Tensor, y: torch.Tensor, rng: np.random.Generator, alpha: float = 2.0):
    """Paste a box of a shuffled partner into each image; labels mix by the pasted area."""
    perm = torch.from_numpy(rng.permutation(len(x)))
    lam = float(rng.beta(alpha, alpha))
    top, bottom, left, right = cutmix_box(x.shape[-2], x.shape[-1], lam, rng)
    out = x.clone()
    out[..., top:bottom, left:right] = x[perm][..., top:bottom, left:right]
    lam = 1.0 - (bottom - top) * (right - left) / (x.shape[-2] * x.shape[-1])
    return out, lam * y + (1.0 - lam) * y[perm]


def mixup(x: torch.Tensor, y: torch.Tensor, rng: np.random.Generator, alpha: float = 1.0):
    """Convex combination with a shuffled partner, one lambda ~ Beta(alpha, alpha) per batch."""
    perm = torch.from_numpy(rng.permutation(len(x)))
    lam = float(rng.beta(alpha, alpha))
    return lam * x + (1.0 - lam) * x[perm], lam * y + (1.0 - lam) * y[perm]


def random_erase(x: torch.Tensor, rng: np.random.Generator, p: float = 0.5, scale=(0.02, 0.4),
                 ratio=(0.3, 1 / 0.3), value: float = 0.0) -> torch.Tensor:
    """Erase one rectangle per image with probability ``p`` (area and log-aspect uniform)."""
    out = x.clone()
    height, width = x.shape[-2:]
    for i in np.flatnonzero(rng.random(len(x)) < p):
        for _ in range(10):  # retry boxes that do not fit, as torchvision and kornia do
            area = height * width * rng.uniform(*scale)
            aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
            h, w = int(round(math.sqrt(area * aspect))), int(round(math.sqrt(area / aspect)))
            if 0 < h < height and 0 < w < width:
                top, left = int(rng.integers(height - h + 1)), int(rng.integers(width - w + 1))
                out[i, :, top:top + h, left:left + w] = value
                break
    return out


def self_mix(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Paste a random half-size patch of each image at another place of the same image, turned by k*90."""
    out = x.clone()
    height, width = x.shape[-2:]
    h, w = height // 2, width // 2
    turns = int(rng.integers(4)) if h == w else 0
    for i in range(len(x)):
        sy, sx, ty, tx = (int(rng.integers(height - h + 1)), int(rng.integers(width - w + 1)),
                          int(rng.integers(height - h + 1)), int(rng.integers(width - w + 1)))
        out[i, :, ty:ty + h, tx:tx + w] = torch.rot90(x[i, :, sy:sy + h, sx:sx + w], turns, dims=(-2, -1))
    return out


def large_rotation(x: torch.Tensor, turns: int) -> torch.Tensor:
    """Rotate by ``turns`` * 90 degrees."""
    return torch.rot90(x, int(turns), dims=(-2, -1))


def hflip(x: torch.Tensor) -> torch.Tensor:
    return torch.flip(x, dims=(-1,))


def random_crop(x: torch.Tensor, rng: np.random.Generator, padding: int = 4) -> torch.Tensor:
    """Zero-pad by ``padding`` and crop back to size at a random offset per image."""
    height, width = x.shape[-2:]
    padded = F.pad(x, (padding,) * 4)
    offsets = rng.integers(0, 2 * padding + 1, size=(len(x), 2))
    return torch.stack([padded[i, :, dy:dy + height, dx:dx + width] for i, (dy, dx) in enumerate(offsets)])


def random_rotation(x: torch.Tensor, rng: np.random.Generator, degrees: float = 30.0) -> torch.Tensor:
    """Rotate each image by an angle uniform in (-degrees, degrees), bilinear, zero fill."""
    angles = torch.from_numpy(np.deg2rad(rng.uniform(-degrees, degrees, size=len(x)))).float()
    cos, sin = torch.cos(angles), torch.sin(angles)
    zeros = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zeros], 1), torch.stack([sin, cos, zeros], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)


def random_hflip(x: torch.Tensor, rng: np.random.Generator, p: float = 0.5) -> torch.Tensor:
    """Flip each image horizontally with probability ``p``."""
    flip = torch.from_numpy(rng.random(len(x)) < p)
    return torch.where(flip[:, None, None, None], hflip(x), x)


def _grey(x: torch.Tensor) -> torch.Tensor:
    """ITU-R 601 luma of RGB images, ``(N, 1, H, W)`` (torchvision's ``rgb_to_grayscale``)."""
    return (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)


def color_jitter(x: torch.Tensor, rng: np.random.Generator, strength: float = 0.4) -> torch.Tensor:
    """Brightness, contrast and saturation factors uniform in [1 - s, 1 + s], in a random order per
    image, each result clipped to [0, 1] (torchvision's ``ColorJitter(s, s, s)`` on RGB in [0, 1])."""
    if x.shape[1] != 3:
        raise ValueError(f"colour jitter needs RGB images, got {x.shape[1]} channel(s)")
    factors = torch.from_numpy(rng.uniform(1 - strength, 1 + strength, size=(len(x), 3))).float()
    orders = np.stack([rng.permutation(3) for _ in range(len(x))])
    out = x.clone()
    for step in range(3):
        for op in range(3):
            rows = torch.from_numpy(np.flatnonzero(orders[:, step] == op))
            if not len(rows):
                continue
            img, f = out[rows], factors[rows, op][:, None, None, None]
            if op == 0:  # brightness: blend with black
                img = f * img
            elif op == 1:  # contrast: blend with the mean grey level of the image
                img = f * img + (1 - f) * _grey(img).mean(dim=(1, 2, 3), keepdim=True)
            else:  # saturation: blend with the grey image
                img = f * img + (1 - f) * _grey(img)
            out[rows] = img.clamp(0, 1)
    return out


def standard(x: torch.Tensor, rng: np.random.Generator, padding: int, flip: bool, jitter: float = 0.4) -> torch.Tensor:
    """The official standard training augmentation (``feat_aug='norm'``) of images in [0, 1]: padded
    random crop, colour jitter on colour images, then a random horizontal flip where ``flip``."""
    if padding:
        x = random_crop(x, rng, padding)
    if jitter and x.shape[1] == 3:
        x = color_jitter(x, rng, jitter)
    if flip:
        x = random_hflip(x, rng)
    return x
