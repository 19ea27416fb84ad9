"""Per-query episode losses and the Meta-MaxUp loss (Ni et al. 2021, Sec. 4; MaxUp, Gong et al. 2021).

For one episode, m augmented copies are drawn, each with one recipe from the pool; the head is fitted
on each copy's support set, and the loss is mean over query positions q of max over copies c of
l_c(q), the element-wise max of the official ``train_maxup.py`` (a batch x m x n_query tensor, max
over m, then mean). With soft query rows (CutMix, MixUp) l_c(q) is the soft cross-entropy, which is
lambda * CE(y_a) + (1 - lambda) * CE(y_b).

All copies' images go through the backbone in one forward pass, so in training mode batch-norm
statistics are computed over all copies of the episode together.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from . import recipes
from .episodes import Episode
from .heads import FewShotHead


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-row cross-entropy against label rows (one-hot or mixed)."""
    return -(target * torch.log_softmax(logits, dim=1)).sum(1)


def embed_all(backbone: nn.Module, episodes: list[Episode]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(support, query) embeddings of every episode, computed in one forward pass."""
    images = torch.cat([x for ep in episodes for x in (ep.support, ep.query)])
    features = backbone(images)
    out, start = [], 0
    for ep in episodes:
        s, q = len(ep.support), len(ep.query)
        out.append((features[start:start + s], features[start + s:start + s + q]))
        start += s + q
    return out


def copy_losses(backbone: nn.Module, head: FewShotHead, copies: list[Episode]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-query losses ``(m, n_query)`` and logits ``(m, n_query, n_way)`` of m episode copies."""
    embeddings = embed_all(backbone, copies)
    logits = head.forward_many([(support, ep.support_y, query) for ep, (support, query) in zip(copies, embeddings)])
    losses = [soft_cross_entropy(out, ep.query_y) for ep, out in zip(copies, logits)]
    return torch.stack(losses), torch.stack(logits)


def meta_maxup_loss(backbone: nn.Module, head: FewShotHead, episode: Episode, pool: tuple[str, ...], m: int,
                    rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Meta-MaxUp loss of one episode and the logits of the copy that was worst for most queries."""
    copies = [recipes.apply(episode, pool[int(rng.integers(len(pool)))], rng) for _ in range(m)]
    losses, logits = copy_losses(backbone, head, copies)
    worst = losses.max(0)
    return worst.values.mean(), logits[worst.indices.mode().values]


def recipe_loss(backbone: nn.Module, head: FewShotHead, episode: Episode, recipe: str,
                rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean per-query loss of one episode under one recipe (``"none"`` for the baseline)."""
    losses, logits = copy_losses(backbone, head, [recipes.apply(episode, recipe, rng)])
    return losses[0].mean(), logits[0]
