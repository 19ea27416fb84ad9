"""Supervised classifier training with per-epoch atomic checkpoints and exact resume.

The order of examples in epoch ``e`` is drawn from a generator seeded by ``(seed, e)``, and the
checkpoint holds model, optimizer, scheduler, torch RNG and that generator's state and the
position inside the epoch, so a run killed (after its last checkpoint) or preempted (SIGTERM:
checkpoint at the next step) and restarted finishes with exactly the weights of an uninterrupted run.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from methods.core.checkpoint import load as load_checkpoint
from methods.core.checkpoint import save as save_checkpoint
from methods.core.errors import TrainingDiverged
from methods.core.preemption import Preempted, Preemption
from methods.core.seeding import derive_seed


@dataclass(frozen=True)
class TrainConfig:
    epochs: int
    batch_size: int
    lr: float
    optimizer: str = "sgd"  # sgd (momentum 0.9, nesterov off) | adam
    weight_decay: float = 0.0
    milestones: tuple[int, ...] = ()  # epochs at which the learning rate is divided by 10
    augment: str = "none"  # none | crop_flip (pad 4, random 32x32 crop, horizontal flip)


def _optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    raise ValueError(f"optimizer must be 'sgd' or 'adam', got {cfg.optimizer!r}")


def crop_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Pad 4 pixels, take a random crop of the original size, flip half of the images."""
    n, _, h, w = x.shape
    padded = F.pad(x, (4, 4, 4, 4))
    dy = torch.randint(0, 9, (n,), generator=generator)
    dx = torch.randint(0, 9, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h)[None])[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w)[None])[:, None, None, :]
    out = padded[torch.arange(n)[:, None, None, None], torch.arange(x.shape[1])[None, :, None, None], rows, cols]
    flip = torch.rand(n, generator=generator) < 0.5
    out[flip] = out[flip].flip(-1)
    return out


def train_classifier(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    cfg: TrainConfig,
    seed: int,
    run_name: str,
    checkpoint: Path | None = None,
    log: logging.Logger | None = None,
    loss_fn: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> dict:
    """Train ``model`` in place on ``(x, y)``; resume from ``checkpoint`` if one is there.

    A checkpoint is written after every epoch, and on SIGTERM after the current step (then
    :class:`Preempted` is raised); resuming from either gives exactly the uninterrupted result.
    ``loss_fn(model, xb, yb)`` replaces cross-entropy (e.g. to add a regularizer). Returns the
    per-epoch mean training loss and the number of optimizer steps taken.
    """
    log = log or logging.getLogger(__name__)
    loss_fn = loss_fn or (lambda m, xb, yb: F.cross_entropy(m(xb), yb))
    optimizer = _optimizer(model, cfg)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, list(cfg.milestones), 0.1)
    history: list[float] = []
    epoch, position, step, total, count, generator_state = 0, 0, 0, 0.0, 0, None
    state = load_checkpoint(checkpoint)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"])
        epoch, position, step = int(state["epoch"]), int(state["position"]), int(state["step"])
        total, count, history = float(state["total"]), int(state["count"]), state["history"].tolist()
        generator_state = state["generator"] if position else None
        log.info("resumed %s from %s at epoch %d, example %d", run_name, checkpoint, epoch, position)

    def save(next_epoch: int, next_position: int, generator: torch.Generator | None) -> None:
        if checkpoint is not None:
            save_checkpoint(checkpoint, {
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "rng": torch.get_rng_state(),
                "epoch": next_epoch, "position": next_position, "step": step, "total": total, "count": count,
                "history": torch.tensor(history, dtype=torch.float64),
                "generator": generator.get_state() if generator is not None else torch.zeros(0, dtype=torch.uint8),
            })

    n = len(x)
    with Preemption() as preemption:
        while epoch < cfg.epochs:
            model.train()
            generator = torch.Generator().manual_seed(derive_seed(seed, "epoch", epoch))
            order = torch.randperm(n, generator=generator)
            if generator_state is not None:
                generator.set_state(generator_state)
                generator_state = None
            for start in range(position, n, cfg.batch_size):
                index = order[start:start + cfg.batch_size]
                xb, yb = x[index], y[index]
                if cfg.augment == "crop_flip":
                    xb = crop_flip(xb, generator)
                loss = loss_fn(model, xb, yb)
                value = loss.item()
                if not math.isfinite(value):
                    raise TrainingDiverged(run_name, step, value)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                step += 1
                total += value * len(index)
                count += len(index)
                if preemption.requested and start + cfg.batch_size < n:
                    save(epoch, start + cfg.batch_size, generator)
                    raise Preempted(run_name, step)
            scheduler.step()
            history.append(total / count)
            log.info("%s epoch %d/%d loss %.4f", run_name, epoch + 1, cfg.epochs, history[-1])
            epoch, position, total, count = epoch + 1, 0, 0.0, 0
            save(epoch, 0, None)
            if preemption.requested and epoch < cfg.epochs:
                raise Preempted(run_name, step)
    return {"train_loss": history, "steps": step}


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[i:i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)])


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Top-1 accuracy in percent."""
    return 100.0 * float((predict(model, x) == y).float().mean())
