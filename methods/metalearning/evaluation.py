"""Few-shot evaluation: per-episode accuracies on fixed (paired) episodes, and Lake's one-shot runs.

Test episodes come from :func:`.episodes.fixed_episodes` with a seed that does not depend on the run,
so every model sees the same episodes and differences can be paired episode by episode. The
per-episode accuracies are what the tables' 1.96*std/sqrt(n) intervals are computed over. The
split is embedded once (:func:`.episodes.embed_pool`, backbone in eval mode) and episodes are drawn
over the embeddings; only the head runs per episode.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn as nn

from .episodes import ClassPool, Episode, embed_pool, fixed_episodes
from .heads import FewShotHead


@torch.no_grad()
def head_accuracies(head: FewShotHead, episodes, chunk: int = 100) -> list[float]:
    """Query accuracy (%) of each episode whose items are already embeddings (the head sees ``chunk``
    episodes at a time: :meth:`.heads.FewShotHead.forward_many`)."""
    head.eval()
    episodes, accuracies = iter(episodes), []
    while batch := list(itertools.islice(episodes, chunk)):
        logits = head.forward_many([(ep.support, ep.support_y, ep.query) for ep in batch])
        accuracies += [100.0 * (out.argmax(1) == ep.query_labels).float().mean().item()
                       for ep, out in zip(batch, logits)]
    return accuracies


@torch.no_grad()
def embedded(backbone: nn.Module, pool: ClassPool) -> ClassPool:
    backbone.eval()
    return embed_pool(backbone, pool)


def few_shot_accuracies(head: FewShotHead, features: ClassPool, n_way: int, k_shot: int, n_query: int, count: int,
                        seed: int) -> list[float]:
    """Accuracies on ``count`` fixed episodes (``seed``) of an embedded pool (see :func:`embedded`)."""
    return head_accuracies(head, fixed_episodes(features, n_way, k_shot, n_query, count, seed))


def lake_runs_accuracies(backbone, head, runs_train: np.ndarray, runs_test: np.ndarray,
                         runs_answer: np.ndarray) -> list[float]:
    """Accuracy (%) on each of Lake et al.'s 20-way one-shot runs (one training image per class)."""
    backbone.eval()
    episodes = []
    with torch.no_grad():
        for train, test, answer in zip(runs_train, runs_test, runs_answer):
            support = backbone(torch.from_numpy(train).float().div(255)[:, None])
            query = backbone(torch.from_numpy(test).float().div(255)[:, None])
            ways = len(support)
            episodes.append(Episode(support, torch.eye(ways), query, torch.eye(ways)[torch.from_numpy(answer)], ways))
    return head_accuracies(head, episodes)
