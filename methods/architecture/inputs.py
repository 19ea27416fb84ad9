"""The image batch the data-dependent proxies see, named in the tables for what it is.

* ``digits``: scikit-learn's handwritten digits (8x8, 16 grey levels), upsampled to 32x32 by
  nearest neighbour, scaled to [0, 1], standardised, repeated over 3 channels, with their digit
  labels: real images available offline, **not CIFAR** (laptop and smoke scales).
* ``cifar10``: CIFAR-10 training images (standardised with the per-channel training statistics)
  and labels, the inputs Abdelfattah et al. (ICLR 2021) score NB201 with (paper scale, ``download=true``).

Both draw ``batch`` examples with a seeded generator.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

TITLES = {"digits": "scikit-learn digits upsampled to 32x32 (not CIFAR)", "cifar10": "CIFAR-10 training images"}


def batch(kind: str, size: int, seed: int, prepared: Path | None = None):
    """(x, y) torch tensors of ``size`` images of ``kind``."""
    import torch

    rng = np.random.default_rng(seed)
    if kind == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        pick = rng.choice(len(digits.target), size, replace=False)
        images = digits.images[pick] / 16.0
        images = images.repeat(4, axis=1).repeat(4, axis=2)
        images = (images - images.mean()) / images.std()
        x = np.repeat(images[:, None], 3, axis=1)
        y = digits.target[pick]
    elif kind == "cifar10":
        from methods.data.formats import load_arrays

        if prepared is None:
            raise ValueError("inputs 'cifar10' need the prepared CIFAR-10 file")
        data = load_arrays(prepared)
        pick = rng.choice(len(data["y_train"]), size, replace=False)
        images = data["x_train"].astype(np.float32) / 255.0
        mean, std = images.mean(axis=(0, 2, 3), keepdims=True), images.std(axis=(0, 2, 3), keepdims=True)
        x, y = (images[pick] - mean) / std, data["y_train"][pick]
    else:
        raise ValueError(f"inputs '{kind}': expected one of {sorted(TITLES)}")
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.int64)
