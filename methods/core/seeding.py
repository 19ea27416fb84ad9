"""Seeds: one integer per run fixes every random choice it makes."""

from __future__ import annotations

import hashlib
import random

import numpy as np


def derive_seed(*parts) -> int:
    """A stable 31-bit seed from any parts (e.g. ``run_seed, "split"``); same parts, same seed."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and torch, make torch deterministic, and return a NumPy generator."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return np.random.default_rng(seed)
