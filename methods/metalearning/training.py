"""The episodic training loop: one episode per step, with one of two optimizer recipes.

* ``sgd`` (default): the official MetaAug hyper-parameters (brief §2.6): SGD lr 0.1, momentum 0.9,
  Nesterov, weight decay 5e-4, the LR multiplied by 1, 0.06, 0.012, 0.0024 over the first 1/3, 2/3,
  5/6 and the rest of training (epochs 20/40/50/60 of 60).
* ``adam``: Snell et al. 2017, Sec. 3.1 (Omniglot): Adam, lr 1e-3, halved every 2,000 episodes
  (``lr_halve_every``), no weight decay; the official jakesnell/prototypical-networks @ c9bb4d2
  (``scripts/train/few_shot/train.py``) builds ``optim.Adam`` with ``weight_decay`` 0 and a
  ``StepLR(step_size=20 epochs of 100 episodes, gamma=0.5)``.

Three random streams are kept apart, unlike
the official loader that re-seeds everything per epoch: episodes (a torch generator), augmentation
parameters (a numpy generator) and model noise (torch's global generator: DropBlock, init).
Checkpoints (model, head, optimizer, all three stream states, history and best-validation weights)
are written atomically every ``checkpoint_every`` episodes and, on SIGTERM, after the current step
(then :class:`Preempted` is raised); a restarted job resumes exactly where it stopped. They hold only
tensors and plain containers and load with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from methods.core.checkpoint import load as load_checkpoint
from methods.core.checkpoint import save as save_checkpoint
from methods.core.errors import ConfigError, TrainingDiverged
from methods.core.preemption import Preempted, Preemption
from methods.core.seeding import derive_seed

from . import augment, recipes
from .episodes import ClassPool, EpisodeSampler
from .maxup import meta_maxup_loss, recipe_loss

LR_STEPS = ((1 / 3, 1.0), (2 / 3, 0.06), (5 / 6, 0.012), (1.0, 0.0024))
OPTIMIZERS = ("sgd", "adam")
PRECISIONS = ("float32", "bfloat16")
FEAT_AUGS = ("null", "norm")


@dataclass(frozen=True)
class EpisodicConfig:
    episodes: int
    n_way: int = 5
    k_shot: int = 5
    n_query: int = 6
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    episodes_per_step: int = 1
    augment: str = "none"
    maxup_pool: tuple[str, ...] = ()
    maxup_m: int = 0
    checkpoint_every: int = 250
    validate_every: int = 0  # episodes; 0 keeps the final model, otherwise the best-validation one
    keep_best: bool = True  # False: validate only for the learning curve and keep the final model
    val_episodes: int = 0
    val_shot: int = 5
    val_query: int = 15
    lr_steps: tuple[tuple[float, float], ...] = field(default=LR_STEPS)
    optimizer: str = "sgd"
    lr_halve_every: int = 0  # episodes; > 0 replaces lr_steps by 0.5 ** (episode // lr_halve_every)
    val_way: int = 0  # ways of the validation episodes; 0 means n_way
    precision: str = "float32"  # bfloat16: the backbone's training forward pass under autocast (an option, issue 22)
    # standard per-image augmentation of every training episode, before any recipe or Meta-MaxUp:
    # "norm" = the official feat_aug default (padded crop, colour jitter on RGB, flip if hflip); "null" = none
    feat_aug: str = "null"
    crop_padding: int = 4
    hflip: bool = True

    def __post_init__(self):
        if self.episodes < 1:
            raise ConfigError("episodes", self.episodes, "an integer of at least 1")
        if self.episodes_per_step < 1 or self.episodes % self.episodes_per_step:
            raise ConfigError("episodes_per_step", self.episodes_per_step,
                              f"a divisor of episodes ({self.episodes}), at least 1")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError("optimizer", self.optimizer, f"one of {list(OPTIMIZERS)}")
        if self.precision not in PRECISIONS:
            raise ConfigError("precision", self.precision, f"one of {list(PRECISIONS)}")
        if self.feat_aug not in FEAT_AUGS:
            raise ConfigError("feat_aug", self.feat_aug, f"one of {list(FEAT_AUGS)}")
        if self.crop_padding < 0:
            raise ConfigError("crop_padding", self.crop_padding, "pixels, at least 0")
        if self.lr_halve_every < 0:
            raise ConfigError("lr_halve_every", self.lr_halve_every, "episodes, at least 0 (0: stepped schedule)")
        recipes.parse(self.augment)
        if self.maxup_pool or self.maxup_m:
            recipes.check_pool(self.maxup_pool, self.maxup_m)

    @property
    def uses_maxup(self) -> bool:
        return bool(self.maxup_pool)

    def lr_factor(self, step: int) -> float:
        if self.lr_halve_every:
            return 0.5 ** (step // self.lr_halve_every)
        progress = step / self.episodes
        for until, factor in self.lr_steps:
            if progress < until:
                return factor
        return self.lr_steps[-1][1]


class BFloat16Backbone(nn.Module):
    """The backbone's forward pass under bfloat16 autocast, its features handed on in float32.

    Mixed precision as it is usually done: weights, gradients and the optimizer stay float32; the
    convolutions run in bfloat16 where the CPU has it (AVX512-BF16 / AMX; ``methods.core.cpu``). The
    heads (distances, ridge regression, the SVM's QP) see float32 features, so their solvers keep
    their precision. Used for the training episodes only; validation and evaluation run in float32.
    """

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        device = next(self.backbone.parameters()).device.type
        with torch.autocast(device, dtype=torch.bfloat16):
            features = self.backbone(images)
        return features.float()


def _training_backbone(backbone: nn.Module, config: EpisodicConfig, log: logging.Logger) -> nn.Module:
    """The module the training episodes go through: the backbone, or it under bfloat16 autocast
    (a configuration error on a CPU that cannot run bfloat16 products at all)."""
    if config.precision == "float32":
        return backbone
    if next(backbone.parameters()).device.type == "cpu":
        from methods.core import cpu

        capability = cpu.bf16_matmul()
        if not capability.supported:
            raise ConfigError("precision", config.precision, f"float32 on this CPU ({capability.reason})")
        log.info("training in bfloat16 autocast: %s", capability.reason)
    return BFloat16Backbone(backbone)


def _optimizer(parameters: list, config: EpisodicConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=config.lr, weight_decay=config.weight_decay, fused=True)
    return torch.optim.SGD(parameters, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay,
                           nesterov=True, fused=True)


def _streams(seed: int) -> tuple[torch.Generator, np.random.Generator]:
    return (torch.Generator().manual_seed(derive_seed(seed, "episodes")),
            np.random.default_rng(derive_seed(seed, "augment")))


def _state(backbone: nn.Module, head: nn.Module) -> dict:
    return {"backbone": {k: v.clone() for k, v in backbone.state_dict().items()},
            "head": {k: v.clone() for k, v in head.state_dict().items()}}


def _validate(backbone, head, pool: ClassPool, config: EpisodicConfig, seed: int) -> float:
    from .evaluation import embedded, few_shot_accuracies

    accuracy = float(np.mean(few_shot_accuracies(head, embedded(backbone, pool), config.val_way or config.n_way,
                                                 config.val_shot,
                                                 config.val_query, config.val_episodes, seed)))
    backbone.train()
    head.train()
    return accuracy


def train_episodic(backbone: nn.Module, head: nn.Module, pool: ClassPool, config: EpisodicConfig, seed: int,
                   run_id: str, checkpoint: Path, log: logging.Logger | None = None,
                   val_pool: ClassPool | None = None) -> dict:
    """Train ``backbone`` and ``head`` on ``config.episodes`` episodes of ``pool``; returns a summary.

    With ``validate_every`` and a ``val_pool``, the model is validated on the same fixed episodes
    every ``validate_every`` episodes and after the last one, and the best-validation weights are
    restored at the end
    (the official code keeps its best-validation checkpoint; ``keep_best=False`` records the curve
    and keeps the final model). On SIGTERM a checkpoint is written
    after the current step and :class:`Preempted` is raised; resuming gives the uninterrupted result.
    """
    log = log or logging.getLogger(__name__)
    extra = config.n_way if recipes.needs_extra_classes([config.augment, *config.maxup_pool]) else 0
    episodes, augment_rng = _streams(seed)
    standard = None
    if config.feat_aug == "norm":
        def standard(images):
            return augment.standard(images, augment_rng, config.crop_padding, config.hflip)
    sampler = EpisodeSampler(pool, config.n_way, config.k_shot, config.n_query, extra_way=extra, augment=standard)
    parameters = list(backbone.parameters()) + list(head.parameters())
    optimizer = _optimizer(parameters, config)
    start, history = 0, {"loss": [], "accuracy": [], "val": []}
    best = None
    state = load_checkpoint(checkpoint)
    if state is not None:
        backbone.load_state_dict(state["backbone"])
        head.load_state_dict(state["head"])
        optimizer.load_state_dict(state["optimizer"])
        episodes.set_state(state["episodes"])
        augment_rng.bit_generator.state = state["augment"]
        torch.set_rng_state(state["torch"])
        start, history, best = state["step"], state["history"], state["best"]
        log.info("resumed %s at episode %d", run_id, start)
    backbone.train()
    head.train()
    net = _training_backbone(backbone, config, log)
    began = time.perf_counter()
    batch = config.episodes_per_step
    validate = bool(config.validate_every and val_pool is not None and config.val_episodes)
    val_seed = derive_seed(seed, "validation")
    with Preemption() as preemption:
        for step in range(start, config.episodes, batch):
            for group in optimizer.param_groups:
                group["lr"] = config.lr * config.lr_factor(step)
            optimizer.zero_grad(set_to_none=True)
            for _ in range(batch):
                episode = sampler.sample(episodes)
                if config.uses_maxup:
                    loss, logits = meta_maxup_loss(net, head, episode, config.maxup_pool, config.maxup_m, augment_rng)
                else:
                    loss, logits = recipe_loss(net, head, episode, config.augment, augment_rng)
                if not math.isfinite(loss.item()):
                    raise TrainingDiverged(run_id, step, loss.item())
                (loss / batch).backward()
                history["loss"].append(loss.item())
                history["accuracy"].append((logits.argmax(1) == episode.query_labels).float().mean().item())
            optimizer.step()
            done = step + batch
            if validate and (done % config.validate_every == 0 or done >= config.episodes):
                accuracy = _validate(backbone, head, val_pool, config, val_seed)
                history["val"].append((done, accuracy))
                if config.keep_best and (best is None or accuracy > best["accuracy"]):
                    best = {"accuracy": accuracy, "episode": done, **_state(backbone, head)}
                log.info("%s: episode %d validation accuracy %.2f", run_id, done, accuracy)
            if done < config.episodes and (done % config.checkpoint_every == 0 or preemption.requested):
                save_checkpoint(checkpoint, {
                    "backbone": backbone.state_dict(), "head": head.state_dict(),
                    "optimizer": optimizer.state_dict(), "episodes": episodes.get_state(),
                    "augment": augment_rng.bit_generator.state, "torch": torch.get_rng_state(),
                    "step": done, "history": history, "best": best})
                if preemption.requested:
                    raise Preempted(run_id, done)
    if best is not None:
        backbone.load_state_dict(best["backbone"])
        head.load_state_dict(best["head"])
    tail = max(1, config.episodes // 10)
    return {
        "episodes": config.episodes,
        "resumed_at": start,
        "seconds": time.perf_counter() - began,
        "final_loss": float(np.mean(history["loss"][-tail:])),
        "final_train_episode_accuracy": float(np.mean(history["accuracy"][-tail:])),
        "loss_curve": [float(np.mean(history["loss"][i:i + tail])) for i in range(0, config.episodes, tail)],
        "validation": history["val"],
        "kept_episode": best["episode"] if best is not None else config.episodes,
        "precision": config.precision,
    }
