"""Post-pruning adaptation: a short LoRA fine-tune of a pruned transformer, the same budget for
every pruning method.

Bonsai adapts each pruned model with LoRA before reporting it (Dery et al., arXiv 2402.05406;
``lora_ft/finetune_lm.py`` and the README command of ``ldery/Bonsai`` @
2f911d789e4e426e8b0850414bcdcadc9fb52ce4): low-rank adapters on every attention and MLP
projection (q, k, v, o, gate, up, down), rank r with ``lora_alpha = 4 r`` and dropout 0.05, AdamW
at 1e-4 with 5 warm-up steps and a linear decay, and the loss

    loss = next-token cross-entropy + 0.01 * KL(dense teacher || pruned student),

where the KL divergence (``KLDivLoss(reduction="batchmean")``) is summed over the tokens and the
vocabulary and divided by the number of sequences. Where ours differs: the output layer stays
frozen (the official code also trains an untied one, LLaMA-2's; a tied one, SmolLM2's, is the input
embedding and stays frozen there too), and the adapters are float32 whatever the model's dtype.
Below paper scale the budget is a few steps on short windows (the caller's
:class:`AdaptationConfig`), with a larger learning rate and no warm-up, since 5 warm-up steps would
be most of it.

A LoRA layer computes ``W x + b + (alpha / r) B A dropout(x)`` (Hu et al., ICLR 2022, Eq. 3) with
``A`` drawn as ``nn.Linear`` draws its weight and ``B = 0``, so the adapted model starts as the
pruned one; afterwards ``B A`` is merged into ``W`` and the model has its pruned shape again.

An encoder that outputs sentence embeddings (all-MiniLM-L6-v2) has no language-modelling head; its
adaptation distils the dense model's embeddings instead, minimising ``1 - cos`` on held-out
calibration text: the distillation half of Bonsai's loss, in the metric the table reports.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from .units import Architecture, _replace


@dataclass(frozen=True)
class AdaptationConfig:
    """One adaptation budget: ``steps`` AdamW steps, each on ``windows`` windows of ``context``
    tokens of held-out calibration text, ``rows`` windows per forward pass (``None``: all)."""

    steps: int
    windows: int
    context: int
    rank: int
    lr: float
    warmup: int = 5  # finetune_lm.py sets warmup_steps = 5
    rows: int | None = None
    alpha_ratio: float = 4.0  # the README command's --lora_alpha_ratio 4
    dropout: float = 0.05  # finetune_lm.py's default lora_dropout
    kl_weight: float = 0.01  # the README command's --kl_weight 0.01

    def __post_init__(self):
        if min(self.steps, self.windows, self.context, self.rank, self.rows or 1) < 1 or self.lr <= 0:
            raise ValueError(f"adaptation needs steps, windows, context, rank, rows >= 1 and lr > 0, got {self}")


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank update (Hu et al., Eq. 3)."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float, generator: torch.Generator):
        super().__init__()
        self.base = base
        for parameter in base.parameters():
            parameter.requires_grad_(False)
        bound = 1 / math.sqrt(base.in_features)  # nn.Linear's kaiming_uniform_(a=sqrt(5)) bound
        a = (torch.rand(rank, base.in_features, generator=generator) * 2 - 1) * bound
        self.lora_a = nn.Parameter(a.to(base.weight.device))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank, device=base.weight.device))
        self.scale = alpha / rank
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        update = (self.dropout(x).float() @ self.lora_a.T @ self.lora_b.T) * self.scale
        return self.base(x) + update.to(x.dtype)

    def merged(self) -> nn.Linear:
        """The base layer with ``scale * B A`` added to its weight."""
        with torch.no_grad():
            self.base.weight += (self.scale * (self.lora_b @ self.lora_a)).to(self.base.weight.dtype)
        return self.base


def _projections(model: nn.Module, arch: Architecture) -> list[tuple[nn.Module, nn.Linear]]:
    """(layer, linear) for every projection the units own: q/k/v, the attention output, the MLP's."""
    found = []
    for layer in arch.layers(model):
        parts = arch.parts(layer)
        linears = [linear for linear, _ in parts.attention_in] + [parts.attention_out, *parts.mlp_in, parts.mlp_out]
        found += [(layer, linear) for linear in linears]
    return found


def attach(model: nn.Module, arch: Architecture, config: AdaptationConfig,
           seed: int) -> list[tuple[nn.Module, LoRALinear]]:
    """Freeze ``model`` and wrap each projection in a :class:`LoRALinear` (in place); returns
    (layer, adapter) pairs for :func:`merge`."""
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    generator = torch.Generator().manual_seed(seed)
    adapters = []
    for layer, linear in _projections(model, arch):
        adapter = LoRALinear(linear, config.rank, config.rank * config.alpha_ratio, config.dropout, generator)
        _replace(layer, linear, adapter)
        adapters.append((layer, adapter))
    return adapters


def merge(adapters: list[tuple[nn.Module, LoRALinear]]) -> None:
    """Replace every adapter :func:`attach` made by its merged ``nn.Linear`` (in place)."""
    for layer, adapter in adapters:
        _replace(layer, adapter, adapter.merged())


def _schedule(optimizer: torch.optim.Optimizer, config: AdaptationConfig):
    """Linear warm-up over ``warmup`` steps (at most all but the last), then linear decay to 0: the
    Trainer's default schedule."""
    from transformers import get_linear_schedule_with_warmup

    return get_linear_schedule_with_warmup(optimizer, min(config.warmup, config.steps - 1), config.steps)


def decoder_loss(kl_weight: float) -> Callable:
    """``(model, batch, teacher log-probabilities) -> loss``: next-token cross-entropy plus
    ``kl_weight`` times KL(teacher || student), summed over tokens and vocabulary per sequence."""

    def loss(model: nn.Module, batch: dict, teacher: torch.Tensor) -> torch.Tensor:
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
        log_probs = torch.log_softmax(logits, dim=-1)
        nll = nn.functional.nll_loss(log_probs[:, :-1].transpose(1, 2), batch["input_ids"][:, 1:])
        kl = nn.functional.kl_div(log_probs, teacher, reduction="batchmean", log_target=True)
        return nll + kl_weight * kl
    return loss


def decoder_teacher(dense: nn.Module, batch: dict) -> torch.Tensor:
    """The dense model's next-token log-probabilities on ``batch`` (computed once per job)."""
    with torch.no_grad():
        logits = dense(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
        return torch.log_softmax(logits, dim=-1)


def encoder_loss(embed: Callable) -> Callable:
    """``(model, batch, teacher embeddings) -> mean(1 - cos)`` of the unit-norm sentence embeddings."""

    def loss(model: nn.Module, batch: dict, teacher: torch.Tensor) -> torch.Tensor:
        return (1 - (embed(model, batch) * teacher).sum(-1)).mean()
    return loss


def adapt(model: nn.Module, arch: Architecture, step_batches: Callable[[int], list[tuple[dict, torch.Tensor]]],
          loss: Callable, config: AdaptationConfig, seed: int) -> dict:
    """LoRA-adapt ``model`` (in place) for ``config.steps`` AdamW steps, then merge the adapters.

    ``step_batches(step)`` gives the step's forward passes as ``(batch, teacher)`` pairs; their
    gradients accumulate, each weighted by its share of the step's rows (the Trainer's gradient
    accumulation). Returns the first and last step's loss and the seconds it took.
    """
    start = time.perf_counter()
    torch.manual_seed(seed)  # LoRA dropout
    adapters = attach(model, arch, config, seed)
    parameters = [p for _, adapter in adapters for p in (adapter.lora_a, adapter.lora_b)]
    optimizer = torch.optim.AdamW(parameters, lr=config.lr, weight_decay=0.0, fused=True)
    scheduler = _schedule(optimizer, config)
    model.train()
    losses = []
    for step in range(config.steps):
        parts = step_batches(step)
        rows = sum(len(batch["input_ids"]) for batch, _ in parts)
        optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for batch, teacher in parts:
            value = loss(model, batch, teacher) * (len(batch["input_ids"]) / rows)
            value.backward()
            total += value.item()
        optimizer.step()
        scheduler.step()
        losses.append(total)
    model.eval()
    merge(adapters)
    return {"first_loss": losses[0], "last_loss": losses[-1], "seconds": time.perf_counter() - start}
