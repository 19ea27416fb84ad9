"""The benchmark suite in one process: the machine's ceiling, each study's hot loop, and the peers.

    python benchmarks/run.py [--quick] [--out benchmarks/results/suite.json] [--only metalearning,quantization]

With torch threads set to the cores this process may use, it measures

* ``peak``: the float32 matrix-multiply ceiling through oneDNN (:mod:`peak`), with ``torch.mm``
  (MKL) and oneDNN bfloat16 beside it for reference (bfloat16 only where the CPU runs it);
* ``metalearning``: training episodes/s of a Conv-4 (64 channels) ProtoNet on 5-way 5-shot
  15-query 28x28 episodes, plain and with Meta-MaxUp (m copies from the official pool), the time
  of sampling + augmentation against forward + backward + update, and the same step with the
  layout ``methods/`` used before commit fa981cb (NCHW, ReLU before pooling) as a reference;
* ``quantization``: SGD steps/s of the Fashion-MNIST SmallCNN at batch 128: float, float with
  BatchNorm folded, this suite's QAT and LSQ fake quantizers (W4A4 per channel), and brevitas;
* ``pruning``: time to prune 50% of the SmallCNN's channels (L1 and Taylor importance) with
  ``methods.pruning.structured`` and with torch-pruning, and the latency of the pruned models;
* ``tabular``: UCI Adult rows embedded/s with all-MiniLM-L6-v2: sentence-transformers ``encode``
  of each row as text, our ``embed`` of the same texts, and the per-distinct-cell cache.

Variants compared with each other are timed in alternation in one loop (A, B, A, B, ...) and their
ratios are medians of per-round ratios (:mod:`benchkit`). Training loops get FLOPs from
``torch.utils.flop_counter.FlopCounterMode`` (forward + backward, convolutions and matmuls) and
their achieved fraction of the oneDNN float32 peak (``torch.mm`` without oneDNN; ``peak_path``
says which), which is timed in the same alternation. Paths this CPU lacks (bfloat16 without
AVX-512, see :mod:`methods.core.cpu`; ``EFFREPRO_CPU_DISABLE`` forces them off) are not timed:
their rows say "not supported on this CPU (reason)". Peak
memory is the resident-set high-water mark during one call (``VmHWM``, reset per call).

``--quick`` uses fewer rounds and rows (about 1-2 minutes). A table is printed and the JSON
(machine, date, commit, torch version and threads, load average) goes to ``--out`` (default
``benchmarks/results/suite.json``, or ``suite-quick.json`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchkit  # noqa: E402
import peak  # noqa: E402

from suite_report import LOW_SHARE, report  # noqa: E402

SECTIONS = ("metalearning", "quantization", "pruning", "tabular")
LOADED = 0.5  # a 1-minute load average above this marks the figures as taken on a loaded machine


def _row(section: str, timings: dict, name: str, unit: str, per_call: float = 1.0, ref: str | None = None,
         label: str | None = None, **extra) -> dict:
    """A table row for variant ``name`` of ``timings``; ``ref``: the variant its time is divided by."""
    timing = timings[name]
    seconds = timing["median_s"]
    row = {"section": section, "variant": label or name, "ms": 1000 * seconds, "throughput": per_call / seconds,
           "unit": unit, "cpu_share": timing["cpu_share"], "calls_per_timing": timing["calls"],
           "rounds_ms": [1000 * t for t in timing["rounds_s"]], **extra}
    if ref is not None and ref != name:
        row["ref"], row["time_ratio"] = ref, benchkit.paired(timings, name, ref)
    return row


def _timing(quick: bool) -> dict:
    """Rounds of the interleaved timing and the seconds each timing of a variant aims at."""
    return {"rounds": 5, "target_s": 0.1} if quick else {"rounds": 15, "target_s": 0.3}


def _timed(variants: dict, settings: dict) -> tuple[dict, dict]:
    """Peak memory of one call of each variant (doubles as the first warm-up), then interleaved timings."""
    memory = {name: benchkit.peak_memory(fn) for name, fn in variants.items()}
    return benchkit.interleaved(variants, settings["rounds"], settings["target_s"], warmup=1), memory


def _unsupported(section: str, variant: str, reason: str) -> dict:
    """The row of a variant this CPU cannot run: the reason ("not supported on this CPU (...)") instead of figures."""
    return {"section": section, "variant": variant, "supported": False, "reason": reason}


def _ceiling() -> tuple:
    """The float32 peak timed beside a training loop: its function, FLOPs and path."""
    path = peak.fp32_ceiling()
    return (*peak.matmul_fn(path), path)


def section_peak(quick: bool) -> dict:
    result = peak.measure(2048, 5 if quick else 11)
    rows = [{"section": "peak", "variant": f"2048^3 matmul, {path}", "ms": 2 * 2048**3 / r["gflops"] / 1e6,
             "throughput": r["gflops"], "unit": "GFLOP/s", "cpu_share": r["cpu_share"]} if r["supported"]
            else _unsupported("peak", f"2048^3 matmul, {path}", r["reason"]) for path, r in result.items()]
    return {"peak": result, "fp32_ceiling": peak.fp32_ceiling(), "rows": rows}


def section_metalearning(quick: bool, m: int) -> dict:
    import candidates
    from metalearning_episodes import EpisodeTrainer, previous_conv4_layout

    settings = {"backbone": "Conv-4, 64 channels", "head": "protonet", "n_way": 5, "k_shot": 5, "n_query": 15,
                "image": "1x28x28", "maxup_m": m, "maxup_pool": "official six recipes", **_timing(quick)}
    common = {"head_name": "protonet", "width": 64, "n_way": 5, "k_shot": 5, "n_query": 15}
    kinds = {"plain": {"recipe": "none"}, "maxup": {"recipe": None, "m": m}}
    previous = ", previous layout: NCHW, ReLU before pool (reference)"
    layouts = {"": {}, previous: {"previous_layout": True}}
    trainers, flops, variants = {}, {}, {}
    variants["peak"], peak_flops, peak_path = _ceiling()
    for kind, options in kinds.items():
        for layout, layout_options in layouts.items():
            trainer = EpisodeTrainer(**common, **options, **layout_options)
            name = f"{kind} episode{layout}"
            trainers[name], flops[name] = trainer, trainer.step_flops()
            variants[name] = trainer.episode
            if not layout:
                copies = trainer.data()
                variants[f"{kind} sample+augment"] = trainer.data
                variants[f"{kind} forward+backward+update"] = lambda t=trainer, c=copies: t.compute(c)
                flops[f"{kind} forward+backward+update"] = flops[name]
    # bfloat16 autocast: shows what the oneDNN bf16 rate (the ~400 GFLOP/s figure) buys; it changes
    # the arithmetic, so it is a reference point, not a proposal, and it runs only where bf16 does
    bf16 = "plain episode, bf16 autocast (reference, changes precision)"
    bf16_support = peak.capability("onednn_bf16")
    if bf16_support.supported:
        trainer = EpisodeTrainer(**common, recipe="none")
        flops[bf16] = flops["plain episode"]

        def bf16_episode(trainer=trainer):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return trainer.episode()

        variants[bf16] = bf16_episode
        variants["peak bf16"], peak_bf16_flops = peak.matmul_fn("onednn_bf16")
    images = torch.cat([trainers["plain episode"].sample().support, trainers["plain episode"].sample().query])
    # the current layout against the previous one: equal up to float32 summation order
    equivalence = {"current against previous layout": candidates.max_difference(
        EpisodeTrainer(**common, previous_layout=True).backbone, EpisodeTrainer(**common).backbone, images)}
    # of the two changes, pooling before ReLU alone is bit-identical (compared within one memory format)
    equivalence["pool before ReLU alone"] = candidates.max_difference(
        previous_conv4_layout(EpisodeTrainer(**common).backbone),
        candidates.pool_before_relu(previous_conv4_layout(EpisodeTrainer(**common).backbone)), images)
    timings, memory = _timed(variants, settings)
    rows = []
    for name, timing in timings.items():
        if name.startswith("peak"):
            continue
        extra = dict(memory[name])
        if name in flops:
            extra["flops"] = flops[name]
            extra["gflops"] = flops[name] / timing["median_s"] / 1e9
            extra["peak_path"] = peak_path
            extra["peak_fraction"] = benchkit.fraction_of_peak(timings, name, flops[name], "peak", peak_flops)
            if name == bf16:
                extra["peak_path"] = "onednn_bf16"
                extra["peak_fraction"] = benchkit.fraction_of_peak(timings, name, flops[name], "peak bf16",
                                                                   peak_bf16_flops)
        kind = name.split()[0]
        ref = f"{kind} forward+backward+update" if "sample" in name else (
            f"{kind} episode" if "reference" in name and "bf16" not in name else None)
        rows.append(_row("metalearning", timings, name, "episodes/s", ref=ref, **extra))
    if not bf16_support.supported:
        rows.append(_unsupported("metalearning", bf16, bf16_support.note))
    ratios = {"time of maxup episode / time of plain episode":
              benchkit.paired(timings, "maxup episode", "plain episode")}
    for kind in kinds:
        ratios[f"{kind}: time of sample+augment / time of forward+backward+update"] = benchkit.paired(
            timings, f"{kind} sample+augment", f"{kind} forward+backward+update")
        ratios[f"{kind}: speed-up of the current layout over the previous one"] = benchkit.paired(
            timings, f"{kind} episode{previous}", f"{kind} episode")
    in_loop = {"peak_path": peak_path, "peak_in_loop_gflops": peak_flops / timings["peak"]["median_s"] / 1e9}
    notes = []
    if bf16_support.supported:
        ratios["plain: speed-up of bf16 autocast over the float32 episode"] = benchkit.paired(
            timings, "plain episode", bf16)
        in_loop["peak_bf16_in_loop_gflops"] = peak_bf16_flops / timings["peak bf16"]["median_s"] / 1e9
    else:
        notes.append(f"bf16 autocast and the bf16 peak: {bf16_support.note}")
    return {"settings": settings, "rows": rows, "ratios": ratios, "notes": notes,
            "candidate_max_difference": equivalence,
            "flops_analytic": {"plain": conv4_flops(64, 25 + 75), "maxup": conv4_flops(64, m * (25 + 75))}, **in_loop}


def conv4_flops(width: int, images: int, size: int = 28, channels: int = 1) -> int:
    """Analytic FLOPs of a Conv-4 forward + backward (a cross-check of ``FlopCounterMode``): forward,
    weight gradients (the forward's count again) and input gradients of every layer but the first."""
    forward, cin = [], channels
    for _ in range(4):
        forward.append(2 * 9 * cin * width * size * size * images)
        cin, size = width, size // 2
    return 2 * sum(forward) + sum(forward[1:])


def section_quantization(quick: bool) -> dict:
    import quantization_qat_step as qat

    batch = 128
    settings = {"model": "SmallCNN 32/64, channels_last", "batch": batch, "bits": "W4A4 (weights per channel)",
                **_timing(quick)}
    import candidates

    x, y = qat.inputs(batch)
    models = qat.variants(x)
    fast = "ours qat w4a4, vectorized fake-quant (candidate)"
    both = "ours qat w4a4, vectorized fake-quant + pool before ReLU (candidate)"
    models[fast] = candidates.vectorized_activation_quantizers(qat._ours("qat", x))
    models[both] = candidates.pool_before_relu(candidates.vectorized_activation_quantizers(qat._ours("qat", x)))
    equivalence = {name: candidates.max_difference(qat._ours("qat", x), models[name], x, y) for name in (fast, both)}
    flops = {name: qat.step_flops(model, x, y) for name, model in models.items()}
    peak_fn, peak_flops, peak_path = _ceiling()
    variants = {"peak": peak_fn, **{name: qat.make_step(model, x, y) for name, model in models.items()}}
    timings, memory = _timed(variants, settings)
    rows = []
    for name in models:
        rows.append(_row("quantization", timings, name, "steps/s", ref="float", label=f"{name} step", **memory[name],
                         flops=flops[name], gflops=flops[name] / timings[name]["median_s"] / 1e9, peak_path=peak_path,
                         peak_fraction=benchkit.fraction_of_peak(timings, name, flops[name], "peak", peak_flops)))
    ratios = {f"time of {name} / time of float": benchkit.paired(timings, name, "float")
              for name in models if name != "float"}
    if "brevitas 0.13.4 w4a4" in models:
        ratios["time of brevitas / time of ours qat"] = benchkit.paired(timings, "brevitas 0.13.4 w4a4",
                                                                        "ours qat w4a4")
    for name in (fast, both):
        ratios[f"speed-up over ours qat w4a4: {name}"] = benchkit.paired(timings, "ours qat w4a4", name)
    notes = [] if "brevitas 0.13.4 w4a4" in models else ["brevitas is not installed: its row is missing"]
    return {"settings": settings, "rows": rows, "ratios": ratios, "notes": notes,
            "candidate_max_difference": equivalence}


def section_pruning(quick: bool) -> dict:
    from pruning_torch_pruning import _ours, _torch_pruning

    from methods.core import measure
    from methods.models.small_cnn import SmallCNN

    settings = {"model": "SmallCNN 32/64 (random weights), channels_last", "ratio": 0.5, "scope": "local",
                "calibration_batch": 128, "latency_batches": [1, 64],
                **_timing(quick)}
    torch.manual_seed(0)
    dense = SmallCNN(1, 10, (32, 64), 28).to(memory_format=torch.channels_last).eval()
    g = torch.Generator().manual_seed(0)
    xb = torch.randn(128, 1, 28, 28, generator=g).contiguous(memory_format=torch.channels_last)
    yb = torch.randint(0, 10, (128,), generator=g)
    try:
        import torch_pruning  # noqa: F401
        tools = {"ours": _ours, "torch-pruning": _torch_pruning}
        notes = []
    except ImportError:
        tools, notes = {"ours": _ours}, ["torch-pruning is not installed: its rows are missing"]
    ratio = settings["ratio"]
    prune = {f"{tool} {criterion}": (lambda fn=fn, c=criterion: fn(dense, c, ratio, xb, yb))
             for criterion in ("l1", "taylor") for tool, fn in tools.items()}
    timings, memory = _timed(prune, settings)
    rows = [_row("pruning", timings, name, "prunings/s", ref=f"ours {name.split()[-1]}",
                 label=f"prune 50% channels, {name}", **memory[name]) for name in prune]
    ratios = {}
    if "torch-pruning l1" in timings:
        for criterion in ("l1", "taylor"):
            ratios[f"time to prune, {criterion}: torch-pruning / ours"] = benchkit.paired(
                timings, f"torch-pruning {criterion}", f"ours {criterion}")
    pruned = {tool: fn(dense, "l1", ratio, xb, yb).eval() for tool, fn in tools.items()}
    example = xb[:1]
    sizes = {"dense": {"params": measure.count_parameters(dense), "flops": measure.flops_per_example(dense, example)}}
    sizes.update({tool: {"params": measure.count_parameters(m), "flops": measure.flops_per_example(m, example)}
                  for tool, m in pruned.items()})
    for batch in settings["latency_batches"]:
        inputs = xb[:1].expand(batch, -1, -1, -1).contiguous(memory_format=torch.channels_last)
        models = {"dense": dense, **pruned}

        def forward(model, inputs=inputs):
            with torch.no_grad():
                model(inputs)

        variants = {f"{name} b{batch}": (lambda m=m: forward(m)) for name, m in models.items()}
        lat = benchkit.interleaved(variants, settings["rounds"], settings["target_s"])
        for name in models:
            key = f"{name} b{batch}"
            rows.append(_row("pruning", lat, key, "images/s", per_call=batch, ref=f"dense b{batch}",
                             label=f"inference batch {batch}, {name} model",
                             params=sizes[name]["params"], flops=sizes[name]["flops"]))
            if name != "dense":
                ratios[f"speed-up over dense, batch {batch}, {name}"] = benchkit.paired(lat, f"dense b{batch}", key)
    return {"settings": settings, "rows": rows, "ratios": ratios, "sizes": sizes, "notes": notes}


def section_tabular(quick: bool) -> dict:
    import numpy as np

    import tabular_llm_embedding_cache as tab

    rows_n = 128 if quick else 1000
    settings = {"dataset": "UCI Adult (first rows of the study's subsample)", "rows": rows_n, "batch_size": 32,
                "model": "all-MiniLM-L6-v2", "rounds": 3 if quick else 4, "target_s": 0.0}
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        return {"settings": settings, "rows": [], "ratios": {},
                "notes": ["sentence-transformers is not installed: section skipped"]}
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    table = tab.load_table(rows_n)
    cells, texts = tab.cells_and_rows(table)
    model, st = tab.load_models()
    columns = tab.column_sets(table, cells)
    batch = settings["batch_size"]
    distinct = {label: tab.cached_features(model, table, cells, keep, batch)[1] for label, keep in columns.items()}
    agreement = float(np.abs(model.embed(texts[:32], batch) - st.encode(texts[:32], batch_size=batch,
                                                                          normalize_embeddings=True)).max())
    variants = {
        "sentence-transformers encode, row as text":
            lambda: st.encode(texts, batch_size=batch, normalize_embeddings=True),
        "ours embed, row as text": lambda: model.embed(texts, batch),
        **{f"ours cache, {label} ({distinct[label]} distinct cells)":
           (lambda keep=keep: tab.cached_features(model, table, cells, keep, batch))
           for label, keep in columns.items()},
    }
    timings, memory = _timed(variants, settings)
    reference = "sentence-transformers encode, row as text"
    rows = [_row("tabular", timings, name, "rows/s", per_call=rows_n, ref=reference, **memory[name])
            for name in timings]
    ratios = {f"speed-up over sentence-transformers encode: {name}": benchkit.paired(timings, reference, name)
              for name in variants if name != reference}
    return {"settings": settings, "rows": rows, "ratios": ratios, "distinct_cells": distinct,
            "max_abs_diff_ours_vs_sentence_transformers": agreement}


def wait_for_idle(limit_s: float) -> float:
    """Wait up to ``limit_s`` seconds for the 1-minute load average to fall below :data:`LOADED`."""
    deadline = time.monotonic() + limit_s
    while os.getloadavg()[0] > LOADED and time.monotonic() < deadline:
        time.sleep(10)
    return os.getloadavg()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and rows (about 1-2 minutes)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    parser.add_argument("--maxup-m", type=int, default=4, help="Meta-MaxUp copies per episode (paper scale: 4)")
    parser.add_argument("--wait-idle", type=float, default=0.0,
                        help=f"wait up to this many seconds for the load average to fall below {LOADED}")
    parser.add_argument("--show", type=Path, help="print the table of a saved JSON record and exit")
    parser.add_argument("--markdown", action="store_true", help="with --show: a GitHub markdown table")
    args = parser.parse_args()
    if args.show:
        report(json.loads(args.show.read_text()), "github" if args.markdown else "simple")
        return
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}: choose from {SECTIONS}")
    out = args.out or Path(__file__).resolve().parent / "results" / ("suite-quick.json" if args.quick else "suite.json")

    from methods.core.threads import available_cores

    threads = available_cores()
    torch.set_num_threads(threads)
    if args.wait_idle:
        wait_for_idle(args.wait_idle)
    began = time.perf_counter()
    record = {"machine": benchkit.machine_record(threads), "quick": args.quick, "sections": {}}
    runners = {"peak": lambda: section_peak(args.quick),
               "metalearning": lambda: section_metalearning(args.quick, args.maxup_m),
               "quantization": lambda: section_quantization(args.quick),
               "pruning": lambda: section_pruning(args.quick), "tabular": lambda: section_tabular(args.quick)}
    loads = []
    for name in ["peak", *only]:
        load0 = os.getloadavg()[0]
        start = time.perf_counter()
        print(f"[{name}] load average {load0:.2f} ...", file=sys.stderr, flush=True)
        result = runners[name]()
        result["seconds"] = time.perf_counter() - start
        result["load_average"] = [load0, os.getloadavg()[0]]
        loads += result["load_average"]
        record["sections"][name] = result
    record["seconds"] = time.perf_counter() - began
    record["machine"]["load_average_end"] = list(os.getloadavg())
    record["max_load_average"] = max(loads)
    shares = [r["cpu_share"] for s in record["sections"].values() for r in s["rows"] if "cpu_share" in r]
    record["min_cpu_share"] = min(shares) if shares else None
    # the load average counts this process's own threads once it runs, so only the start is telling
    record["loaded_machine"] = (record["machine"]["load_average_start"][0] > LOADED
                                or (record["min_cpu_share"] or 1) < LOW_SHARE)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    report(record)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
