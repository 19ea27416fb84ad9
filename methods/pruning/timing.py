"""Measured speed-up of a pruned model over its dense reference, robust to a busy machine.

On a shared machine the CPU available to a job drifts over seconds, so timing the dense model once
and the pruned model later compares two different machines. Here the two are timed in alternation
for several rounds (each a ``methods.core.measure.latency_ms`` median) and the speed-up is the
median of the per-round ratios.
"""

from __future__ import annotations

import statistics

import torch
from torch import nn

from methods.core.measure import latency_ms


def paired_speedup(reference: nn.Module, candidate: nn.Module, example: torch.Tensor, batch_size: int, threads: int,
                   rounds: int = 5, min_run_time: float = 0.1) -> tuple[float, float]:
    """``(median dense/pruned latency ratio, median pruned latency in ms)`` over alternating rounds."""
    ratios, latencies = [], []
    for _ in range(rounds):
        dense = latency_ms(reference, example, batch_size, threads, min_run_time)
        pruned = latency_ms(candidate, example, batch_size, threads, min_run_time)
        ratios.append(dense / pruned)
        latencies.append(pruned)
    return statistics.median(ratios), statistics.median(latencies)
