"""Small real few-shot data for the metalearning tests: distinct random stroke patterns per class."""

from __future__ import annotations

import pytest
import torch

from methods.metalearning.episodes import ClassPool


def pattern_pool(classes: int = 12, per_class: int = 10, size: int = 16, seed: int = 0, noise: float = 0.15) -> ClassPool:
    """Each class is a random binary pattern; its images are noisy, shifted copies (uint8, ink 255)."""
    generator = torch.Generator().manual_seed(seed)
    base = (torch.rand(classes, 1, 1, size, size, generator=generator) > 0.6).float()
    shifts = torch.randint(-1, 2, (classes, per_class, 2), generator=generator)
    images = torch.empty(classes, per_class, 1, size, size)
    for c in range(classes):
        for i in range(per_class):
            dy, dx = shifts[c, i].tolist()
            images[c, i] = torch.roll(base[c, 0], (dy, dx), dims=(-2, -1))
    images = (images + noise * torch.randn(images.shape, generator=generator)).clamp(0, 1)
    return ClassPool((images * 255).round().to(torch.uint8), name="patterns")


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture
def pool() -> ClassPool:
    return pattern_pool()


@pytest.fixture
def make_pool():
    return pattern_pool
