"""Seeds: one integer per run fixes every random choice it makes."""

from __future__ import annotations

import hashlib
import random
import sys

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
    use_deterministic_algorithms()
    return np.random.default_rng(seed)


def use_deterministic_algorithms() -> None:
    """``torch.use_deterministic_algorithms(True, warn_only=True)`` without its 1.5 s import.

    The public call also sets ``torch._inductor.config.deterministic`` and so imports the whole
    inductor compiler (1.5 CPU s on our 2-core machines, as much as ``import torch`` itself, paid
    by every job). That flag only matters to ``torch.compile``, which no effrepro job uses; where
    inductor is already loaded (someone compiled in this process) or torch lacks the internal
    switch, the public call is made.
    """
    import torch

    if "torch._inductor.config" in sys.modules or not hasattr(torch._C, "_set_deterministic_algorithms"):
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        torch._C._set_deterministic_algorithms(True, warn_only=True)
