"""Model cost measurements: parameters, FLOPs, size, and measured CPU latency."""

from __future__ import annotations

import io

import torch
from torch import nn


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_nonzeros(model: nn.Module) -> int:
    return sum(int(torch.count_nonzero(p)) for p in model.parameters())


def flops_per_example(model: nn.Module, example: torch.Tensor) -> int:
    """Floating-point operations of one forward pass for one example (a multiply-add = 2 FLOPs),
    counted by ``torch.utils.flop_counter`` (matmuls and convolutions)."""
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(example[:1])
    return int(counter.get_total_flops())


def serialized_bytes(model: nn.Module) -> int:
    """Size of the model's state dict as ``torch.save`` writes it."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def latency_ms(model: nn.Module, example: torch.Tensor, batch_size: int, threads: int,
               min_run_time: float = 0.5) -> float:
    """Median wall time (ms) of one inference forward pass on ``batch_size`` examples.

    Uses ``torch.utils.benchmark.Timer`` (warm-up, adaptive repeats, median) with ``threads``
    torch threads.
    """
    from torch.utils import benchmark

    batch = example[:1].expand(batch_size, *example.shape[1:]).contiguous(
        memory_format=torch.channels_last if example.dim() == 4 else torch.contiguous_format)
    model.eval()
    with torch.no_grad():
        timer = benchmark.Timer("model(batch)", globals={"model": model, "batch": batch}, num_threads=threads)
        measurement = timer.blocked_autorange(min_run_time=min_run_time)
    return 1000.0 * measurement.median
