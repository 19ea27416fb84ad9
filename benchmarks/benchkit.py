"""Helpers of the benchmark suite: interleaved timing, peak memory, and the machine record.

Timing on a shared machine: the CPU a process gets drifts by 2x within seconds, so variants that
are compared are timed in alternation (A, B, A, B, ...) in one process, and ratios are formed
round by round and summarized by their median (:func:`interleaved`, :func:`paired`). The CPU share
each variant got is recorded: with torch's two spinning OpenMP threads, a second busy program on a
two-core machine slows small kernels far more than 2x, so rows with a low share are not figures of
this code.

Peak memory: the resident-set high-water mark (``VmHWM`` in ``/proc/self/status``), reset before
the measured call by writing ``5`` to ``/proc/self/clear_refs`` (Linux). Where that is not
possible the figure is ``getrusage(RUSAGE_SELF).ru_maxrss``, the peak of the whole process so far,
and where not even that exists (Windows) it is None; ``memory_method`` says which
(:mod:`methods.core.rss`). This counts every allocation (torch's CPU allocator, numpy,
Python), unlike ``tracemalloc``, which sees only Python's allocator.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

from methods.core import rss
from methods.core.provenance import cpu_model

ROOT = Path(__file__).resolve().parents[1]


def peak_memory(fn: Callable[[], object]) -> dict:
    """Peak resident memory (MiB) while ``fn()`` runs once, and how much it rose over the start."""
    before = rss.status_kib("VmRSS")
    if before is not None and rss.reset_peak():
        fn()
        peak = rss.status_kib("VmHWM") or 0
        return {"peak_rss_mib": peak / 1024, "rise_mib": max(0, peak - before) / 1024,
                "memory_method": "VmHWM reset via /proc/self/clear_refs"}
    fn()
    peak = rss.maxrss_kib()
    if peak is None:
        return {"peak_rss_mib": None, "rise_mib": None, "memory_method": "not available on this OS"}
    return {"peak_rss_mib": peak / 1024, "rise_mib": None, "memory_method": "getrusage ru_maxrss (process lifetime)"}


def interleaved(variants: dict[str, Callable[[], object]], rounds: int, target_s: float = 0.2,
                warmup: int = 2, threads: int | None = None, max_calls: int = 1000) -> dict[str, dict]:
    """Seconds per call of each variant, timed in alternation.

    Every variant runs ``warmup`` times; the fastest warm-up call sets how many consecutive calls
    make one timing of it (about ``target_s`` seconds, 1 to ``max_calls``). Then ``rounds`` rounds
    each time every variant in turn. Returns, per variant, the per-round seconds per call
    (``rounds_s``), their median (``median_s``), the calls per timing, and the CPU share the
    process got while the variant ran (CPU seconds / wall seconds / threads; near 1 on an idle
    machine, about 0.5 when another busy program shares two cores).
    """
    import torch

    threads = threads or torch.get_num_threads()
    calls = {}
    for name, fn in variants.items():
        fastest = math.inf
        for _ in range(max(1, warmup)):
            start = time.perf_counter()
            fn()
            fastest = min(fastest, time.perf_counter() - start)
        calls[name] = int(min(max_calls, max(1, round(target_s / max(fastest, 1e-9)))))
    out = {name: {"rounds_s": [], "calls": calls[name], "cpu_s": 0.0, "wall_s": 0.0} for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for _ in range(calls[name]):
                fn()
            wall = time.perf_counter() - wall0
            out[name]["rounds_s"].append(wall / calls[name])
            out[name]["wall_s"] += wall
            out[name]["cpu_s"] += time.process_time() - cpu0
    for row in out.values():
        row["median_s"] = statistics.median(row["rounds_s"])
        row["cpu_share"] = row.pop("cpu_s") / row.pop("wall_s") / threads
    return out


def paired(timings: dict[str, dict], numerator: str, denominator: str) -> float:
    """Median over rounds of ``time(numerator) / time(denominator)`` (both from one :func:`interleaved`)."""
    return statistics.median(a / b for a, b in zip(timings[numerator]["rounds_s"], timings[denominator]["rounds_s"]))


def fraction_of_peak(timings: dict[str, dict], name: str, flops: float, peak: str, peak_flops: float) -> float:
    """Median over rounds of (``flops`` / seconds of ``name``) / (``peak_flops`` / seconds of ``peak``)."""
    return statistics.median((flops / t) / (peak_flops / p)
                             for t, p in zip(timings[name]["rounds_s"], timings[peak]["rounds_s"]))


def cpu_details() -> dict:
    """CPU vendor family / model numbers and the vector extensions that matter for the kernels."""
    details: dict = {}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return details
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key in ("cpu family", "model", "vendor_id") and key not in details:
            details[key] = value
        if key == "flags" and "flags" not in details:
            details["flags"] = sorted(f for f in value.split() if f.startswith(("avx512", "amx", "avx2", "fma")))
    return details


def git_commit() -> dict:
    def git(*args: str) -> str:
        result = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return result.stdout.strip()

    changed = [line for line in git("status", "--porcelain").splitlines() if line]
    changed_here = [line for line in git("status", "--porcelain", "--", "benchmarks").splitlines() if line]
    return {"commit": git("rev-parse", "HEAD"), "dirty_files": len(changed), "dirty_benchmark_files": len(changed_here)}


def machine_record(threads: int) -> dict:
    """Date, commit, CPU (with what it can run: :func:`methods.core.cpu.describe`), cores, versions, load."""
    import torch

    from methods.core import cpu
    from methods.core.threads import available_cores

    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            **git_commit(), "cpu": cpu_model(), "cpu_details": cpu_details(),
            "capabilities": cpu.describe(), "cores": available_cores(),
            "python": platform.python_version(), "torch": torch.__version__, "torch_threads": threads,
            "load_average_start": list(os.getloadavg())}


def prepared_context(prepared: Path, dataset: str, *names: str) -> SimpleNamespace:
    """The part of a run context a study's data helpers read (``ctx.run.dataset``, ``ctx.data``), for
    ``dataset`` and the other prepared ``names`` in the folder ``prepared``."""
    data = {name: prepared / f"{name}.npz" for name in (dataset, *names)}
    return SimpleNamespace(data=data, run=SimpleNamespace(dataset=dataset))


def train_evaluate_command(workdir: Path, spec: dict, run_dir: Path) -> list[str]:
    """``effrepro train-evaluate`` of one run spec, one thread, reading the prepared data and the runs
    it needs from where a workflow run in ``workdir`` left them, writing into ``run_dir``."""
    data = [str(workdir / "resources" / "prepared" / f"{name}.npz") for name in spec["data"]]
    needs = [str(workdir / "results" / spec["scale"] / need / "train.json") for need in spec["needs"]]
    return ["effrepro", "train-evaluate", "--spec", json.dumps(spec), "--run-dir", str(run_dir),
            "--data", *data, "--needs", *needs, "--threads", "1", "--gpus", "0"]
