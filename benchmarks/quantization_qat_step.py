"""QAT training-step time against the float step on the same model, side by side with brevitas.

One SGD step (forward, backward, update) of the Fashion-MNIST SmallCNN (widths 32/64, channels_last)
at batch 128: float (with BatchNorm, and with BatchNorm folded as the suite's QAT trains it); this
suite's fake quantizers (``qat`` straight-through with per-step weight
ranges, and ``lsq``) at W4A4 per channel; and, when installed, brevitas 0.13.4 ``QuantConv2d`` /
``QuantLinear`` / ``QuantReLU`` at 4 bits. Variants are timed in turn in one process (medians of
``torch.utils.benchmark``), so compare the ratios, not absolute times across runs.

Usage: ``python benchmarks/quantization_qat_step.py [--threads 2] [--batch 128] [--min-time 2]``
"""

from __future__ import annotations

import argparse
import json

import torch
import torch.nn.functional as F
from torch import nn


def _float_model() -> nn.Module:
    from methods.models.small_cnn import SmallCNN

    torch.manual_seed(0)
    return SmallCNN(1, 10, (32, 64), 28).to(memory_format=torch.channels_last)


def _ours(mode: str, x: torch.Tensor) -> nn.Module:
    from methods.quantization.qmodules import QuantConfig, quantize_model

    setting = "w4a4-channel-minmax" if mode == "qat" else "w4a4-channel"
    return quantize_model(_float_model().eval(), QuantConfig.parse(setting), mode, x).train()


def _brevitas() -> nn.Module | None:
    try:
        import brevitas.nn as qnn
    except ImportError:
        return None

    class BrevitasCNN(nn.Module):
        """The same SmallCNN with brevitas quantized layers (4-bit weights and activations)."""

        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                qnn.QuantIdentity(bit_width=4, return_quant_tensor=False),
                qnn.QuantConv2d(1, 32, 3, padding=1, bias=False, weight_bit_width=4), nn.BatchNorm2d(32),
                qnn.QuantReLU(bit_width=4), nn.MaxPool2d(2),
                qnn.QuantConv2d(32, 64, 3, padding=1, bias=False, weight_bit_width=4), nn.BatchNorm2d(64),
                qnn.QuantReLU(bit_width=4), nn.MaxPool2d(2),
            )
            self.pool = nn.AdaptiveAvgPool2d(2)
            self.classifier = qnn.QuantLinear(256, 10, bias=True, weight_bit_width=4)

        def forward(self, x):
            return self.classifier(self.pool(self.features(x)).flatten(1))

    torch.manual_seed(0)
    return BrevitasCNN().to(memory_format=torch.channels_last).train()


def make_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    """A zero-argument function doing one SGD step (forward, loss, backward, update) of ``model`` on ``x, y``."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def step_flops(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """FLOPs of one forward + backward pass (``FlopCounterMode``: convolutions and matmuls; the
    fake quantizers' elementwise work is not counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    model.zero_grad(set_to_none=True)
    return int(counter.get_total_flops())


def inputs(batch: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A random Fashion-MNIST-shaped batch (channels_last) and labels."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 1, 28, 28, generator=g).contiguous(memory_format=torch.channels_last)
    return x, torch.randint(0, 10, (batch,), generator=g)


def variants(x: torch.Tensor, brevitas: bool = True) -> dict[str, nn.Module]:
    """The models compared, in training mode: float, float with BN folded, ours (qat, lsq), brevitas."""
    from methods.quantization.qmodules import fold_batchnorm

    out = {"float": _float_model().train(), "float, BN folded": fold_batchnorm(_float_model()).train(),
           "ours qat w4a4": _ours("qat", x), "ours lsq w4a4": _ours("lsq", x)}
    model = _brevitas() if brevitas else None
    if model is not None:
        out["brevitas 0.13.4 w4a4"] = model
    return out


def step_ms(model: nn.Module, x: torch.Tensor, y: torch.Tensor, threads: int, min_time: float) -> float:
    from torch.utils import benchmark

    step = make_step(model, x, y)
    for _ in range(3):
        step()
    timer = benchmark.Timer("step()", globals={"step": step}, num_threads=threads)
    return 1000 * timer.blocked_autorange(min_run_time=min_time).median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--min-time", type=float, default=2.0)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x, y = inputs(args.batch)
    results = {name: step_ms(model, x, y, args.threads, args.min_time) for name, model in variants(x).items()}
    print(f"| variant | step (ms), batch {args.batch}, {args.threads} threads | x float |")
    print("|---|---|---|")
    for name, ms in results.items():
        print(f"| {name} | {ms:.1f} | {ms / results['float']:.2f} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"batch": args.batch, "threads": args.threads, "step_ms": results}, handle, indent=1)


if __name__ == "__main__":
    main()
