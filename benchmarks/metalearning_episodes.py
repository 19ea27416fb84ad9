"""Episode throughput of the metalearning harness, and the share of time spent sampling and augmenting.

Run: ``python benchmarks/metalearning_episodes.py [--episodes 100] [--threads 1] [--out result.json]``.

For the laptop configuration (Conv-4 at 32 channels, 28x28 glyph-sized inputs, 5-way 5-shot 6-query
training, 5-way 15-query testing) it times, per training episode, the sampler, the augmentation
(recipes, or the m copies of Meta-MaxUp) and the forward/backward/step, and for testing both the
per-episode forward pass and the embed-once evaluation the study uses (ProtoNet's head, and the SVM's,
whose QPs are most of its cost). Inputs are random images of the glyph pool's shape: throughput does
not depend on the pixel values.

Times are process CPU seconds (``time.process_time``) as well as wall seconds: on a shared machine
the wall clock mostly measures the other tenants, while CPU time measures this code (one thread).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch import nn

from methods.metalearning import recipes
from methods.metalearning.backbones import Conv4
from methods.metalearning.episodes import ClassPool, Episode, EpisodeSampler, fixed_episodes
from methods.metalearning.evaluation import embedded, few_shot_accuracies
from methods.metalearning.heads import build_head
from methods.metalearning.maxup import copy_losses, meta_maxup_loss, recipe_loss

MAXUP_POOL = ("query:cutmix", "query:erase", "support:erase", "task:rotation",
              "query:cutmix+task:rotation", "query:erase+task:rotation")


def _pool(classes: int, seed: int = 0) -> ClassPool:
    g = torch.Generator().manual_seed(seed)
    return ClassPool(torch.randint(0, 256, (classes, 20, 1, 28, 28), generator=g, dtype=torch.uint8))


def previous_conv4_layout(backbone: nn.Module) -> nn.Module:
    """The Conv-4 as effrepro ran it before commit fa981cb (NCHW weights, ReLU before max pooling):
    the suite times it as the reference its current layout is compared with."""
    backbone = backbone.to(memory_format=torch.contiguous_format)
    for block in backbone.blocks:
        pool, relu = block[2], block[3]
        assert isinstance(pool, nn.MaxPool2d) and isinstance(relu, nn.ReLU), block
        block[2], block[3] = relu, pool
    return backbone


class EpisodeTrainer:
    """One training setup of the harness, split into the parts of a training episode.

    ``recipe`` is a recipe name (``"none"`` for the baseline) or None for Meta-MaxUp with ``m``
    copies from :data:`MAXUP_POOL`. The optimizer is the one :func:`train_episodic` builds (SGD,
    Nesterov momentum 0.9, weight decay 5e-4). :meth:`episode` is the loop body of
    ``train_episodic`` (sample, ``recipe_loss`` / ``meta_maxup_loss``, backward, step);
    :meth:`data` and :meth:`compute` are its two halves, for timing them apart.
    """

    def __init__(self, head_name: str = "protonet", recipe: str | None = "none", m: int = 1, width: int = 32,
                 n_way: int = 5, k_shot: int = 5, n_query: int = 6, classes: int = 40,
                 previous_layout: bool = False, seed: int = 0):
        torch.manual_seed(seed)
        self.backbone, self.head = Conv4(1, width), build_head(head_name, {})
        if previous_layout:
            self.backbone = previous_conv4_layout(self.backbone)
        self.backbone.train()
        self.head.train()
        parameters = list(self.backbone.parameters()) + list(self.head.parameters())
        self.optimizer = torch.optim.SGD(parameters, lr=0.01, momentum=0.9, weight_decay=5e-4, nesterov=True)
        self.sampler = EpisodeSampler(_pool(classes, seed), n_way, k_shot, n_query)
        self.generator, self.rng = torch.Generator().manual_seed(seed + 1), np.random.default_rng(seed + 1)
        self.recipe, self.m = recipe, m
        self.pool = MAXUP_POOL

    def sample(self) -> Episode:
        return self.sampler.sample(self.generator)

    def augment(self, episode: Episode) -> list[Episode]:
        """The augmented copies of ``episode`` (one for a recipe, ``m`` for Meta-MaxUp), as the losses draw them."""
        if self.recipe is not None:
            return [recipes.apply(episode, self.recipe, self.rng)]
        return [recipes.apply(episode, self.pool[int(self.rng.integers(len(self.pool)))], self.rng)
                for _ in range(self.m)]

    def data(self) -> list[Episode]:
        """Sampling and augmentation of one episode."""
        return self.augment(self.sample())

    def compute(self, copies: list[Episode]) -> float:
        """Forward (all copies' support and query images in one pass), loss, backward and SGD step."""
        losses, _ = copy_losses(self.backbone, self.head, copies)
        loss = losses.max(0).values.mean() if self.recipe is None else losses[0].mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def episode(self) -> float:
        """One whole training episode through the study's own loss functions."""
        episode = self.sample()
        if self.recipe is None:
            loss, _ = meta_maxup_loss(self.backbone, self.head, episode, self.pool, self.m, self.rng)
        else:
            loss, _ = recipe_loss(self.backbone, self.head, episode, self.recipe, self.rng)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def step_flops(self) -> int:
        """FLOPs of one forward + backward pass (``FlopCounterMode``: convolutions and matmuls), no update."""
        from torch.utils.flop_counter import FlopCounterMode

        copies = self.data()
        with FlopCounterMode(display=False) as counter:
            losses, _ = copy_losses(self.backbone, self.head, copies)
            (losses.max(0).values.mean() if self.recipe is None else losses[0].mean()).backward()
        self.optimizer.zero_grad(set_to_none=True)
        return int(counter.get_total_flops())


def train_timing(head_name: str, recipe: str | None, m: int, episodes: int, width: int) -> dict:
    """Seconds per episode for sampling, augmenting and the learner step (recipe None = Meta-MaxUp)."""
    trainer = EpisodeTrainer(head_name, recipe, m, width)
    parts = {"sample": 0.0, "augment": 0.0, "step": 0.0}
    wall = 0.0
    for i in range(episodes + 3):  # three warm-up episodes
        w0, t0 = time.perf_counter(), time.process_time()
        episode = trainer.sample()
        t1 = time.process_time()
        copies = trainer.augment(episode)
        t2 = time.process_time()
        trainer.compute(copies)
        t3 = time.process_time()
        if i >= 3:
            parts["sample"] += t1 - t0
            parts["augment"] += t2 - t1
            parts["step"] += t3 - t2
            wall += time.perf_counter() - w0
    total = sum(parts.values())
    return {"episodes_per_cpu_s": episodes / total, "episodes_per_wall_s": episodes / wall,
            **{f"{k}_share": v / total for k, v in parts.items()}}


@torch.no_grad()
def test_timing(episodes: int, width: int) -> dict:
    """Test episodes per second: a forward pass per episode, and embedding the split once."""
    backbone, head = Conv4(1, width).eval(), build_head("protonet", {}).eval()
    pool = _pool(400)
    start = time.process_time()
    for episode in fixed_episodes(pool, 5, 5, 15, episodes, seed=0):
        features = backbone(torch.cat([episode.support, episode.query]))
        head(features[:25], episode.support_y, features[25:])
    per_episode = episodes / (time.process_time() - start)
    start = time.process_time()
    features = embedded(backbone, pool)
    embed_s = time.process_time() - start
    start = time.process_time()
    few_shot_accuracies(head, features, 5, 5, 15, episodes, seed=0)
    head_s = time.process_time() - start
    start = time.process_time()
    few_shot_accuracies(build_head("svm", {}).eval(), features, 5, 5, 15, episodes, seed=0)
    svm_s = time.process_time() - start
    return {"per_episode_forward_episodes_per_cpu_s": per_episode, "embed_split_cpu_s": embed_s,
            "embedded_head_episodes_per_cpu_s": episodes / head_s, "embedded_svm_head_episodes_per_cpu_s": episodes / svm_s,
            "embed_once_600_episodes_per_cpu_s": 600 / (embed_s + 600 * head_s / episodes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = {"threads": args.threads, "width": args.width, "train": {}, "test": test_timing(args.episodes, args.width)}
    for head in ("protonet", "r2d2", "svm"):
        result["train"][f"{head}/baseline"] = train_timing(head, "none", 1, args.episodes, args.width)
    result["train"]["protonet/query-cutmix"] = train_timing("protonet", "query:cutmix", 1, args.episodes, args.width)
    result["train"]["protonet/maxup-m2"] = train_timing("protonet", None, 2, args.episodes, args.width)
    result["train"]["protonet/maxup-m4"] = train_timing("protonet", None, 4, args.episodes, args.width)
    result["train"]["svm/maxup-m4"] = train_timing("svm", None, 4, args.episodes, args.width)
    print(f"{'train':24s} {'ep/CPU-s':>9s} {'ep/wall-s':>9s} {'sample':>7s} {'augment':>8s} {'step':>6s}")
    for name, row in result["train"].items():
        print(f"{name:24s} {row['episodes_per_cpu_s']:9.1f} {row['episodes_per_wall_s']:9.1f} "
              f"{row['sample_share']:7.1%} {row['augment_share']:8.1%} {row['step_share']:6.1%}")
    print("test:", json.dumps({k: round(v, 2) for k, v in result["test"].items()}))
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
