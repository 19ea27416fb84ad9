"""The machine's matrix-multiply ceiling, measured in this process: GFLOP/s of a 2048^3 product.

    python benchmarks/peak.py [--n 2048] [--repeats 9] [--threads N]

Three paths, each the median over ``repeats`` products after warm-up (2 n^3 FLOPs each), the
paths timed in alternation (:func:`measure`; :func:`gflops` times one path alone):

* ``onednn_fp32``: ``torch.nn.functional.linear`` on mkldnn (oneDNN) tensors, float32 (oneDNN's
  ``brg_matmul:avx512_core`` kernel on AVX-512). This is the float32 ceiling the suite divides by
  (:func:`fp32_ceiling`); a torch build without oneDNN (often ARM) uses ``mm_fp32`` instead.
* ``mm_fp32``: ``torch.mm`` on dense float32 tensors (the MKL path that ``nn.Linear`` takes); every
  CPU has it.
* ``onednn_bf16``: the same product in bfloat16, for reference only. It runs about twice as fast
  as float32 on AVX512-BF16/AMX CPUs; it is *not* a float32 ceiling. CPUs without AVX-512 (e.g.
  AMD Zen 3) cannot run it at all.

A path this CPU lacks (:mod:`methods.core.cpu`) is not timed: :func:`measure` reports it as
``{"supported": False, "reason": "not supported on this CPU (...)"}``.

Each figure comes with the CPU share the process got while it was measured (process CPU seconds /
wall seconds / threads): well under 1 means other programs were running on the same cores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from methods.core import cpu
from methods.core.threads import available_cores

PATHS = ("onednn_fp32", "mm_fp32", "onednn_bf16")
# the check each path needs; mm_fp32 needs none (dense float32 runs on every CPU)
_NEEDS = {"onednn_fp32": cpu.onednn, "onednn_bf16": cpu.bf16_matmul}


def capability(path: str) -> cpu.Capability:
    """Whether ``path`` runs on this CPU (see :mod:`methods.core.cpu`)."""
    if path not in PATHS:
        raise ValueError(f"path {path!r}: one of {PATHS}")
    need = _NEEDS.get(path)
    return need() if need else cpu.Capability(True, "dense float32")


def fp32_ceiling() -> str:
    """The float32 path fractions of peak divide by: oneDNN where it exists, else ``mm_fp32``."""
    return "onednn_fp32" if capability("onednn_fp32").supported else "mm_fp32"


def matmul_fn(path: str, n: int = 2048, seed: int = 0) -> tuple[Callable[[], object], int]:
    """A zero-argument function computing one ``n x n`` by ``n x n`` product on ``path``, and its FLOPs."""
    g = torch.Generator().manual_seed(seed)
    a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
    if path == "onednn_fp32":
        am, bm = a.to_mkldnn(), b.to_mkldnn()
        fn = lambda: F.linear(am, bm)  # noqa: E731  (a @ b.T through oneDNN's inner product)
    elif path == "mm_fp32":
        fn = lambda: torch.mm(a, b)  # noqa: E731
    elif path == "onednn_bf16":
        am, bm = a.bfloat16().to_mkldnn(), b.bfloat16().to_mkldnn()
        fn = lambda: F.linear(am, bm)  # noqa: E731
    else:
        raise ValueError(f"path {path!r}: one of {PATHS}")
    return fn, 2 * n**3


def gflops(path: str = "onednn_fp32", n: int = 2048, repeats: int = 9, warmup: int = 3) -> dict:
    """Median GFLOP/s of ``path`` after ``warmup`` products, with the CPU share the process got."""
    fn, flops = matmul_fn(path, n)
    for _ in range(warmup):
        fn()
    times = []
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    cpu_share = (time.process_time() - cpu0) / (time.perf_counter() - wall0) / torch.get_num_threads()
    return {"gflops": flops / statistics.median(times) / 1e9, "best_gflops": flops / min(times) / 1e9,
            "n": n, "repeats": repeats, "cpu_share": cpu_share}


def measure(n: int = 2048, repeats: int = 9, paths: tuple[str, ...] = PATHS) -> dict:
    """Every path of ``paths`` this CPU has, timed in alternation (one product of each per round,
    ``repeats`` rounds after three warm-up products each), so that a burst of load elsewhere hits all
    paths alike; the others as ``{"supported": False, "reason": ...}``."""
    from benchkit import interleaved

    capabilities = {path: capability(path) for path in paths}
    fns = {path: matmul_fn(path, n) for path in paths if capabilities[path].supported}
    timings = interleaved({path: fn for path, (fn, _) in fns.items()}, repeats, target_s=0.0, warmup=3)
    result = {path: {"supported": False, "reason": capabilities[path].note} for path in paths}
    result.update({path: {"supported": True, "gflops": flops / timings[path]["median_s"] / 1e9,
                          "best_gflops": flops / min(timings[path]["rounds_s"]) / 1e9,
                          "n": n, "repeats": repeats, "cpu_share": timings[path]["cpu_share"]}
                   for path, (_, flops) in fns.items()})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=available_cores())
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = measure(args.n, args.repeats)
    if args.json:
        print(json.dumps({"threads": args.threads, **result}, indent=2))
        return
    print(f"{args.n}^3 matmul, {args.threads} threads, load average {os.getloadavg()[0]:.2f}")
    for path, row in result.items():
        if not row["supported"]:
            print(f"{path:12s} {row['reason']}")
            continue
        print(f"{path:12s} {row['gflops']:7.1f} GFLOP/s (median; best {row['best_gflops']:.1f}), "
              f"CPU share {row['cpu_share']:.2f}")


if __name__ == "__main__":
    main()
