"""Running one stage of one run: the job side of the workflow's ``train`` and ``evaluate`` rules.

A job rebuilds its :class:`Run` from the spec the rule passes, applies its thread count, calls the
study, and writes ``train.json`` or ``metrics.json`` atomically with provenance and cost. The
``train_evaluate`` rule runs both stages in one process (:func:`train_and_evaluate`), for runs
whose study evaluates them in training (:meth:`Study.evaluates_in_training`).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from . import atomic, faults, heap, provenance, rss
from .study import Run, RunContext, load_study
from .threads import apply_threads

log = logging.getLogger("effrepro")


def run_from_spec(spec: dict) -> Run:
    return Run(spec["study"], spec["dataset"], spec["method"], spec["setting"], int(spec["seed"]),
               params=spec["params"], needs=tuple(spec["needs"]), data=tuple(spec["data"]))


def _context(spec: dict, run_dir: Path, data: list[Path], needs: list[Path], threads: int, gpus: int) -> RunContext:
    run = run_from_spec(spec)
    data_paths = {Path(p).name.removesuffix(".npz"): Path(p) for p in data}
    missing = [d for d in run.datasets if d not in data_paths]
    if missing:
        raise FileNotFoundError(f"run {run.run_id}: prepared data for {missing} not given")
    need_dirs = {need: Path(p).parent for need, p in zip(run.needs, needs)}
    run_dir.mkdir(parents=True, exist_ok=True)
    return RunContext(run, spec["scale"], run_dir, data_paths, need_dirs, threads, log, gpus)


def _peak_rss_mb() -> float | None:
    """Peak resident memory of this process so far, in MiB (None where the OS does not say: Windows)."""
    peak = rss.maxrss_kib()
    return None if peak is None else peak / 1024


def _number(value) -> float | None:
    """A metric or sample as JSON stores it; None stays None: a cell this CPU cannot measure (no int8
    engine), a sample with no finite value (a degenerate zero-cost proxy)."""
    return None if value is None else float(value)


def _process_cpu_s() -> float:
    """CPU seconds of this process since it started, every thread, plus its finished children's."""
    used = os.times()
    return used.user + used.system + used.children_user + used.children_system


_charged_cpu_s = 0.0  # the process CPU already charged to an earlier stage of this job


def _cost(start: float) -> dict:
    """A stage's cost, measured by the job itself: wall seconds of the stage, the CPU seconds of the
    process since the previous stage ended (the first stage also pays the interpreter's start and
    imports), and the process's peak RSS so far. Exact, unlike the samples Snakemake's ``benchmark:``
    takes (every 0.5 s for 15 s, then every 30 s), which miss the end of most jobs."""
    global _charged_cpu_s
    cpu = _process_cpu_s()
    stage_cpu, _charged_cpu_s = cpu - _charged_cpu_s, cpu
    return {"wall_s": time.perf_counter() - start, "cpu_s": stage_cpu, "peak_rss_mb": _peak_rss_mb()}


def train(spec: dict, run_dir: Path, data: list[Path], needs: list[Path], rule_threads: int, gpus: int = 0) -> dict:
    start = time.perf_counter()
    threads = apply_threads(rule_threads)
    heap.keep_freed_memory()
    ctx = _context(spec, run_dir, data, needs, threads, gpus)
    study = load_study(ctx.run.study)
    log.info("train %s with %d threads", ctx.run.run_id, threads)
    faults.maybe_fail("train", ctx.run.run_id)
    summary = study.train(ctx)
    record = {"spec": spec, "summary": summary, "cost": _cost(start),
              "provenance": provenance.collect(spec, ctx.run.seed, threads)}
    atomic.write_json(run_dir / "train.json", record)
    return record


def evaluate(spec: dict, run_dir: Path, data: list[Path], needs: list[Path], rule_threads: int, gpus: int = 0) -> dict:
    start = time.perf_counter()
    threads = apply_threads(rule_threads)
    heap.keep_freed_memory()
    ctx = _context(spec, run_dir, data, needs, threads, gpus)
    study = load_study(ctx.run.study)
    log.info("evaluate %s with %d threads", ctx.run.run_id, threads)
    faults.maybe_fail("evaluate", ctx.run.run_id)
    result = study.evaluate(ctx)
    trained = json.loads((run_dir / "train.json").read_text())
    record = {
        "spec": spec,
        "metrics": {k: _number(v) for k, v in result["metrics"].items()},
        "timings": {k: _number(v) for k, v in result.get("timings", {}).items()},
        "kernels": dict(result.get("kernels", {})),
        "samples": {k: [_number(x) for x in v] for k, v in result.get("samples", {}).items()},
        "train": {"summary": trained["summary"], "cost": trained["cost"]},
        "cost": _cost(start),
        "provenance": provenance.collect(spec, ctx.run.seed, threads),
    }
    atomic.write_json(run_dir / "metrics.json", record)
    return record


def train_and_evaluate(spec: dict, run_dir: Path, data: list[Path], needs: list[Path], rule_threads: int,
                       gpus: int = 0) -> dict:
    """Both stages in one process, in order: the same ``train.json`` and ``metrics.json`` (each with its
    own cost and provenance) as two jobs write, without a second interpreter, torch import and data load."""
    train(spec, run_dir, data, needs, rule_threads, gpus)
    return evaluate(spec, run_dir, data, needs, rule_threads, gpus)
