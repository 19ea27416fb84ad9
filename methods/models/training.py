"""Supervised classifier training with per-epoch atomic checkpoints and exact resume.

The order of examples in epoch ``e`` is drawn from a generator seeded by ``(seed, e)``, and the
checkpoint holds model, optimizer, scheduler, torch RNG and that generator's state and the
position inside the epoch, so a run killed (after its last checkpoint) or preempted (SIGTERM:
checkpoint at the next step) and restarted finishes with exactly the weights of an uninterrupted run.

The examples are an in-memory tensor, or :class:`~methods.data.image_files.ImageFiles` (ImageNet),
whose batches are decoded by DataLoader workers with per-example seeded augmentation. Training and
prediction run on the GPU when there is one (:func:`compute_device`); the model is handed back on the
device it came on.
"""

from __future__ import annotations

import contextlib
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
    # none | crop_flip (tensors: pad 4, random 32x32 crop, horizontal flip) | random_resized_crop (image files)
    augment: str = "none"
    # step: divide by 10 at ``milestones`` | onecycle: per step, linear warm-up over the first 15% to ``lr``
    # then linear decay to ~0 (Smith & Topin, "Super-Convergence", 2019), for short CPU budgets |
    # cosine: per step, from ``lr`` to 0 along a half cosine, no restarts (Loshchilov & Hutter, SGDR, 2017,
    # Eq. 5 with one period; the LSQ paper's schedule, Esser et al. 2020, Section 3)
    schedule: str = "step"


def _optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay, fused=True)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
    raise ValueError(f"optimizer must be 'sgd' or 'adam', got {cfg.optimizer!r}")


def _scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig, steps_per_epoch: int):
    if cfg.schedule == "step":
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, list(cfg.milestones), 0.1)
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, cfg.lr, total_steps=cfg.epochs * steps_per_epoch,
                                                   pct_start=0.15, anneal_strategy="linear")
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs * steps_per_epoch)
    raise ValueError(f"schedule must be 'step', 'onecycle' or 'cosine', got {cfg.schedule!r}")


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


def compute_device() -> torch.device:
    """The GPU when the job has one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters(), torch.empty(0)).device


@contextlib.contextmanager
def on_compute_device(model: nn.Module, device: torch.device | None = None):
    """``model`` on ``device`` (default :func:`compute_device`) for the block, then back on its own device."""
    home = _device_of(model)
    device = device or compute_device()
    model.to(device)
    try:
        yield device
    finally:
        model.to(home)


def _is_tensor(x) -> bool:
    return isinstance(x, torch.Tensor)


def _train_batches(x, y, order, start, cfg: TrainConfig, generator, seed: int, epoch: int, device: torch.device):
    """``(first position, inputs, labels)`` on ``device`` for the batches of ``order`` from ``start`` on."""
    allowed = ("none", "crop_flip") if _is_tensor(x) else ("none", "random_resized_crop")
    if cfg.augment not in allowed:
        raise ValueError(f"augment {cfg.augment!r} does not apply to {type(x).__name__} examples; allowed: {allowed}")
    if _is_tensor(x):
        for first in range(start, len(order), cfg.batch_size):
            index = order[first:first + cfg.batch_size]
            xb, yb = x[index], y[index]
            if cfg.augment == "crop_flip":
                xb = crop_flip(xb, generator)
            yield first, xb.to(device), yb.to(device)
        return
    pin = device.type == "cuda"
    augment = cfg.augment == "random_resized_crop"
    for first, xb, yb in x.train_batches(order, start, cfg.batch_size, augment, seed, epoch, pin):
        yield first, xb.to(device, non_blocking=pin), yb.to(device, non_blocking=pin)


def eval_batches(x, batch_size: int, device: torch.device):
    """The inputs in order, on ``device``, at most ``batch_size`` a batch: slices of a tensor, or
    decoded image files."""
    if _is_tensor(x):
        for start in range(0, len(x), batch_size):
            yield x[start:start + batch_size].to(device)
        return
    pin = device.type == "cuda"
    for xb, _ in x.eval_batches(batch_size, pin):
        yield xb.to(device, non_blocking=pin)


Loss = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


def train_classifier(
    model: nn.Module,
    x,
    y: torch.Tensor,
    cfg: TrainConfig,
    seed: int,
    run_name: str,
    checkpoint: Path | None = None,
    log: logging.Logger | None = None,
    loss_fn: Loss | None = None,
) -> dict:
    """Train ``model`` in place on ``(x, y)`` (``x`` a tensor or image files); resume from ``checkpoint``
    if one is there.

    A checkpoint is written after every epoch, and on SIGTERM after the current step (then
    :class:`Preempted` is raised); resuming from either gives exactly the uninterrupted result.
    ``loss_fn(model, xb, yb)`` replaces cross-entropy (e.g. to add a regularizer). Returns the
    per-epoch mean training loss and the number of optimizer steps taken.
    """
    with on_compute_device(model):
        return _train(model, x, y, cfg, seed, run_name, checkpoint, log or logging.getLogger(__name__),
                      loss_fn or (lambda m, xb, yb: F.cross_entropy(m(xb), yb)))


def _train(model: nn.Module, x, y: torch.Tensor, cfg: TrainConfig, seed: int, run_name: str,
           checkpoint: Path | None, log: logging.Logger, loss_fn: Loss) -> dict:
    device = _device_of(model)
    optimizer = _optimizer(model, cfg)
    scheduler = _scheduler(optimizer, cfg, math.ceil(len(x) / cfg.batch_size))
    per_step = cfg.schedule in ("onecycle", "cosine")
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
            for start, xb, yb in _train_batches(x, y, order, position, cfg, generator, seed, epoch, device):
                loss = loss_fn(model, xb, yb)
                value = loss.item()
                if not math.isfinite(value):
                    raise TrainingDiverged(run_name, step, value)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if per_step:
                    scheduler.step()
                step += 1
                total += value * len(yb)
                count += len(yb)
                if preemption.requested and start + cfg.batch_size < n:
                    save(epoch, start + cfg.batch_size, generator)
                    raise Preempted(run_name, step)
            if not per_step:
                scheduler.step()
            history.append(total / count)
            log.info("%s epoch %d/%d loss %.4f", run_name, epoch + 1, cfg.epochs, history[-1])
            epoch, position, total, count = epoch + 1, 0, 0.0, 0
            save(epoch, 0, None)
            if preemption.requested and epoch < cfg.epochs:
                raise Preempted(run_name, step)
    return {"train_loss": history, "steps": step}


@torch.no_grad()
def predict(model: nn.Module, x, batch_size: int = 1024) -> torch.Tensor:
    """Predicted classes (on the CPU). Models with float parameters run on :func:`compute_device`;
    int8-kernel models (packed weights, no parameters) are CPU kernels and stay there."""
    model.eval()
    packed = next(model.parameters(), None) is None
    with on_compute_device(model, torch.device("cpu") if packed else None) as device:
        return torch.cat([model(xb).argmax(1).cpu() for xb in eval_batches(x, batch_size, device)])


def accuracy(model: nn.Module, x, y: torch.Tensor) -> float:
    """Top-1 accuracy in percent."""
    return 100.0 * float((predict(model, x) == y).float().mean())
