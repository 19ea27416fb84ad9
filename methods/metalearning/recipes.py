"""Augmentation recipes at the four levels of an episode (Ni et al. 2021, Sec. 3).

A recipe is ``level:op`` terms joined by ``+`` (``"query:cutmix+task:rotation"``); ``"none"`` is the
identity. Levels, applied in the order task, shot, support, query:

* ``task``: new classes. ``rotation`` turns each class (support and query together) by k*90 degrees
  with k drawn from {0, 0, 0, 1, 2, 3} (``tlr`` in the official ``train_maxup.py``); ``mixup`` and
  ``cutmix`` combine each class, with probability 1/2, with an extra class into a new class (one
  lambda or box per class: the official ``TaskAug`` "Mix" and "CutMix").
* ``shot``: adds one augmented copy of every support image (K doubles), labels unchanged.
* ``support``: transforms the support images; mixing ops give the support soft label rows.
* ``query``: transforms the query images; mixing ops give soft query labels, so the per-query loss
  is lambda*CE(y_a) + (1 - lambda)*CE(y_b).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from methods.core.errors import ConfigError

from . import augment
from .episodes import Episode

_IMAGE_OPS = ("cutmix", "mixup", "erase", "selfmix", "flip", "crop", "rotate")
LEVEL_OPS = {
    "task": ("rotation", "mixup", "cutmix"),
    "shot": ("flip", "crop", "erase", "selfmix", "rotate"),
    "support": _IMAGE_OPS,
    "query": _IMAGE_OPS,
}
ORDER = ("task", "shot", "support", "query")
TASK_ROTATION_TURNS = (0, 0, 0, 1, 2, 3)
TASK_MIX_P = 0.5


def parse(recipe: str, key: str = "augment") -> tuple[tuple[str, str], ...]:
    """``"query:cutmix+task:rotation"`` -> terms sorted in application order; checks every name."""
    if recipe in ("", "none"):
        return ()
    terms = []
    for term in recipe.split("+"):
        level, _, op = term.strip().partition(":")
        if level not in LEVEL_OPS:
            raise ConfigError(key, recipe, f"levels {list(LEVEL_OPS)} (term '{term}' has level '{level}')")
        if op not in LEVEL_OPS[level]:
            raise ConfigError(key, recipe, f"ops at level '{level}': {list(LEVEL_OPS[level])} (got '{op}')")
        terms.append((level, op))
    return tuple(sorted(terms, key=lambda t: ORDER.index(t[0])))


def needs_extra_classes(recipes) -> bool:
    """Whether any recipe combines classes (the sampler must then draw ``n_way`` extra classes)."""
    return any(level == "task" and op in ("mixup", "cutmix") for r in recipes for level, op in parse(r))


def _image_op(op: str, x: torch.Tensor, y: torch.Tensor, rng: np.random.Generator):
    if op == "cutmix":
        return augment.cutmix(x, y, rng)
    if op == "mixup":
        return augment.mixup(x, y, rng)
    if op == "erase":
        return augment.random_erase(x, rng), y
    if op == "selfmix":
        return augment.self_mix(x, rng), y
    if op == "flip":
        return augment.hflip(x), y
    if op == "crop":
        return augment.random_crop(x, rng, padding=max(1, x.shape[-1] // 8)), y
    if op == "rotate":
        return augment.random_rotation(x, rng), y
    raise ConfigError("augment", op, f"one of {list(_IMAGE_OPS)}")


def _task(episode: Episode, op: str, rng: np.random.Generator) -> Episode:
    n = episode.n_way
    k, q = len(episode.support) // n, len(episode.query) // n
    support = episode.support.reshape(n, k, *episode.support.shape[1:]).clone()
    query = episode.query.reshape(n, q, *episode.query.shape[1:]).clone()
    for c in range(n):
        if op == "rotation":
            turns = int(rng.choice(TASK_ROTATION_TURNS))
            if turns:
                support[c], query[c] = augment.large_rotation(support[c], turns), augment.large_rotation(query[c], turns)
            continue
        if episode.extra is None or len(episode.extra) < n:
            raise ConfigError("augment", f"task:{op}", "episodes drawn with n_way extra classes (extra_way = n_way)")
        if rng.random() >= TASK_MIX_P:
            continue
        other = episode.extra[c]
        if op == "mixup":
            lam = float(rng.beta(1.0, 1.0))
            support[c] = lam * support[c] + (1 - lam) * other[:k]
            query[c] = lam * query[c] + (1 - lam) * other[k:]
        else:
            top, bottom, left, right = augment.cutmix_box(support.shape[-2], support.shape[-1], float(rng.beta(2.0, 2.0)), rng)
            support[c][..., top:bottom, left:right] = other[:k][..., top:bottom, left:right]
            query[c][..., top:bottom, left:right] = other[k:][..., top:bottom, left:right]
    return replace(episode, support=support.flatten(0, 1), query=query.flatten(0, 1))


def apply(episode: Episode, recipe: str, rng: np.random.Generator) -> Episode:
    """The episode transformed by ``recipe`` (the input is left unchanged)."""
    for level, op in parse(recipe):
        if level == "task":
            episode = _task(episode, op, rng)
        elif level == "shot":
            copies, _ = _image_op(op, episode.support, episode.support_y, rng)
            episode = replace(episode, support=torch.cat([episode.support, copies]),
                              support_y=torch.cat([episode.support_y, episode.support_y]))
        elif level == "support":
            x, y = _image_op(op, episode.support, episode.support_y, rng)
            episode = replace(episode, support=x, support_y=y)
        else:
            x, y = _image_op(op, episode.query, episode.query_y, rng)
            episode = replace(episode, query=x, query_y=y)
    return episode


def check_pool(pool, m: int) -> tuple[str, ...]:
    """A Meta-MaxUp pool: at least one valid recipe and ``m >= 1`` copies per episode."""
    if int(m) < 1:
        raise ConfigError("maxup_m", m, "an integer of at least 1 (augmented copies per episode)")
    if not pool:
        raise ConfigError("maxup_pool", pool, "at least one recipe")
    for recipe in pool:
        parse(recipe, "maxup_pool")
    return tuple(pool)
