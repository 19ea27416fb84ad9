"""Real int8 inference latency against fp32 (channels_last) on this CPU, same model, same batch sizes.

The Fashion-MNIST SmallCNN through ``torch.ao`` static int8 (fused conv-BN-ReLU, x86 engine) and the
digits MLP through dynamic int8 ``Linear``, each against its fp32 model (the CNN in channels_last, the
fastest fp32 layout here), timed in turn in one process with :func:`methods.core.measure.latency_ms`.
The study's ``quantization`` table measures the same on the trained models; this script needs no data.

Usage: ``python benchmarks/quantization_int8.py [--threads 2]``
"""

from __future__ import annotations

import argparse

import torch


def main() -> None:
    from methods.core import cpu
    from methods.core.measure import latency_ms, serialized_bytes
    from methods.models.mlp import MLP
    from methods.models.small_cnn import SmallCNN
    from methods.quantization.int8 import int8_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    engine = cpu.int8_engine()
    if not engine.supported:
        print(f"int8: {engine.note}")
        return
    torch.manual_seed(0)
    cases = {
        "SmallCNN 32/64 (static int8)": (SmallCNN(1, 10, (32, 64), 28).eval().to(memory_format=torch.channels_last),
                                         torch.randn(256, 1, 28, 28).contiguous(memory_format=torch.channels_last)),
        "MLP 64-128-64-10 (dynamic int8)": (MLP(64, (128, 64), 10).eval(), torch.randn(256, 64)),
    }
    print(f"| model | batch | fp32 (ms/img) | int8 (ms/img) | speed-up | fp32 KiB | int8 KiB |  "
          f"({args.threads} threads, {engine.note})")
    print("|---|---|---|---|---|---|---|")
    for name, (model, x) in cases.items():
        quantized, _ = int8_model(model, x, engine.name)
        for batch in (1, 64):
            fp32 = latency_ms(model, x[:1], batch, args.threads) / batch
            int8 = latency_ms(quantized, x[:1], batch, args.threads) / batch
            print(f"| {name} | {batch} | {fp32:.4f} | {int8:.4f} | {fp32 / int8:.2f} | "
                  f"{serialized_bytes(model) / 1024:.1f} | {serialized_bytes(quantized) / 1024:.1f} |")


if __name__ == "__main__":
    main()
