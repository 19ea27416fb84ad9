"""N-way K-shot Q-query episodes over a class-split image pool, seeded and reproducible.

An episode draws ``n_way`` classes and, per class, ``k_shot + n_query`` distinct images, all from
one :class:`torch.Generator`; the same seed gives the same episodes for every model, so test
accuracies are paired episode by episode (the fixed test-task list that learn2learn's
``TaskDataset(num_tasks>0)`` caches, without storing it). With ``rotations`` each class also exists
rotated by 90, 180 and 270 degrees as a new class (the Omniglot protocol of Vinyals et al. 2016).
Labels are one-hot rows (soft once mixing augmentations are applied; see :mod:`.recipes`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from methods.core.errors import ConfigError


@dataclass
class Episode:
    """Support and query images (float NCHW, in [0, 1] or normalized by the pool's statistics) with
    label rows over ``n_way`` classes.

    ``extra`` holds images of further classes, ``(extra_way, k_shot + n_query, C, H, W)``, that
    task-level class combinations mix into the episode's classes.
    """

    support: torch.Tensor
    support_y: torch.Tensor
    query: torch.Tensor
    query_y: torch.Tensor
    n_way: int
    extra: torch.Tensor | None = None

    @property
    def query_labels(self) -> torch.Tensor:
        return self.query_y.argmax(1)


def _as_float(x: torch.Tensor) -> torch.Tensor:
    return x.float().div_(255) if x.dtype == torch.uint8 else x


@dataclass(frozen=True)
class ClassPool:
    """Images of one split, ``(classes, per_class, C, H, W)`` uint8, optionally with rotation classes.

    A pool of embeddings, ``(classes, per_class, d)`` float (see :func:`embed_pool`), samples the
    same episodes as the image pool it came from: sampling draws only indices.
    """

    images: torch.Tensor
    rotations: bool = False
    name: str = "split"
    # per-channel mean and std of the training images in [0, 1]; when set, items come out normalized
    # (the official loaders' ``transforms.Normalize``), so an erased region filled with 0 is the mean
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    @property
    def n_classes(self) -> int:
        return self.images.shape[0] * (4 if self.rotations else 1)

    @property
    def per_class(self) -> int:
        return self.images.shape[1]

    def gather(self, classes: torch.Tensor, indices: torch.Tensor, augment=None) -> torch.Tensor:
        """Items ``indices[i]`` of class ``classes[i]``: ``(len(classes), m, ...)`` float (uint8 / 255).

        ``augment`` (images ``(N, C, H, W)`` in [0, 1] -> same shape) is applied per image before
        normalization, as the official loaders transform each image before ``Normalize``.
        """
        if not self.rotations:
            images = _as_float(self.images[classes[:, None], indices])
        else:
            base, turns = classes // 4, classes % 4
            images = _as_float(self.images[base[:, None], indices])
            for turn in range(1, 4):
                rows = turns == turn
                if rows.any():
                    images[rows] = torch.rot90(images[rows], turn, dims=(-2, -1))
        if augment is not None:
            images = augment(images.flatten(0, 1)).reshape(images.shape)
        return self.normalize(images)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] (channels at dim -3) as ``(x - mean) / std``; unchanged without statistics."""
        if self.mean is None:
            return images
        mean = torch.tensor(self.mean, dtype=images.dtype)[:, None, None]
        std = torch.tensor(self.std, dtype=images.dtype)[:, None, None]
        return (images - mean) / std


class EpisodeSampler:
    """Draws episodes from a :class:`ClassPool`; checks the request against the split's size."""

    def __init__(self, pool: ClassPool, n_way: int, k_shot: int, n_query: int, extra_way: int = 0, augment=None):
        for key, value in (("n_way", n_way), ("k_shot", k_shot), ("n_query", n_query)):
            if int(value) < 1:
                raise ConfigError(key, value, "an integer of at least 1")
        if n_way + extra_way > pool.n_classes:
            raise ConfigError("n_way", n_way, f"at most {pool.n_classes - extra_way} classes in split "
                              f"'{pool.name}' ({pool.n_classes} classes, {extra_way} kept for task mixing)")
        if k_shot + n_query > pool.per_class:
            raise ConfigError("k_shot", k_shot, f"k_shot + n_query ({k_shot} + {n_query}) at most the "
                              f"{pool.per_class} images per class of split '{pool.name}'")
        self.pool, self.n_way, self.k_shot, self.n_query, self.extra_way = pool, n_way, k_shot, n_query, extra_way
        self.augment = augment  # per-image standard augmentation of training episodes (ClassPool.gather)

    def draw(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Class ids ``(n_way + extra_way,)`` and per-class item indices ``(n_way + extra_way, k + q)``."""
        classes = torch.randperm(self.pool.n_classes, generator=generator)[: self.n_way + self.extra_way]
        order = torch.rand(len(classes), self.pool.per_class, generator=generator).argsort(1)
        return classes, order[:, : self.k_shot + self.n_query]

    def sample(self, generator: torch.Generator) -> Episode:
        n, k, q = self.n_way, self.k_shot, self.n_query
        images = self.pool.gather(*self.draw(generator), augment=self.augment)
        shape = images.shape[2:]
        eye = torch.eye(n)
        return Episode(
            support=images[:n, :k].reshape(n * k, *shape),
            support_y=eye.repeat_interleave(k, 0),
            query=images[:n, k:].reshape(n * q, *shape),
            query_y=eye.repeat_interleave(q, 0),
            n_way=n,
            extra=images[n:] if self.extra_way else None,
        )


def fixed_episodes(pool: ClassPool, n_way: int, k_shot: int, n_query: int, count: int, seed: int):
    """The same ``count`` episodes for every caller with the same ``seed`` (paired test episodes)."""
    sampler = EpisodeSampler(pool, n_way, k_shot, n_query)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(count):
        yield sampler.sample(generator)


def embed_pool(embed, pool: ClassPool, batch: int = 1000) -> ClassPool:
    """The pool with every item replaced by ``embed(images)`` (rotation classes expanded, in class order).

    With a backbone in eval mode each image's embedding is independent of the others, so episodes
    drawn from this pool give exactly the logits of episodes drawn from the images, at a fraction
    of the cost (each test image is embedded once, not once per episode).
    """
    classes = torch.arange(pool.n_classes)
    features = []
    for start in range(0, len(classes), max(1, batch // pool.per_class)):
        chunk = classes[start:start + max(1, batch // pool.per_class)]
        images = pool.gather(chunk, torch.arange(pool.per_class).expand(len(chunk), -1))
        features.append(embed(images.flatten(0, 1)).reshape(len(chunk), pool.per_class, -1))
    return ClassPool(torch.cat(features), rotations=False, name=f"{pool.name} (embedded)")
