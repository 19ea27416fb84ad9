"""What keeping freed memory in the C heap saves a job (``methods/core/heap.py``), paired per run.

    python benchmarks/heap_settings.py --results results/laptop [--runs RUN ...] [--out benchmarks/results/heap_settings.json]

Re-runs finished runs of a workflow results folder (``effrepro train-evaluate``, one thread, in a
scratch folder; the prepared data and the runs they need are read from where the workflow left them)
twice at once on two cores: once as the jobs run now, once with ``EFFREPRO_HEAP=glibc`` (glibc's
allocator as it comes). Both arms share the machine in the same seconds, so what the other arm does
to the caches and the memory bus falls on both. For each run it records user and system CPU seconds
and the peak RSS of each arm (``wait4``), and whether the two arms wrote the same metrics (measured
costs such as pruning seconds and peak memory left out: those are measurements, not results).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchkit import ROOT, machine_record

# one heavy run per study kind at laptop scale (the WrapNet evaluation is where the effect was found)
DEFAULT_RUNS = (
    "quantization/fashion_mnist/wrapnet/all/seed0",
    "quantization/fashion_mnist/ptq/all/seed0",
    "quantization/fashion_mnist/lsq/all/seed0",
    "architecture/nasbench201/proxies/chunk00/seed0",
    "baselines/fashion_mnist/cnn/dense/seed0",
    "pruning/fashion_mnist/channel/sweep/seed0",
    "pruning/pydoc_sentences/bonsai_llm/sweep/seed0",
    "metalearning/glyphs/svm/maxup/seed0",
    "optimizers/fmnist_cnn/train/all/seed0",
    "tabular_llm/adult/embed/minilm/seed0",
)
MEASURED_COSTS = ("prune_s@", "prune_peak_mb@", "latency", "seconds")
ARMS = {"kept": {}, "glibc": {"EFFREPRO_HEAP": "glibc"}}


def _command(results: Path, run: str, scratch: Path) -> list[str]:
    spec = json.loads((results / run / "metrics.json").read_text())["spec"]
    workdir = results.parents[1]
    data = [str(workdir / "resources" / "prepared" / f"{name}.npz") for name in spec["data"]]
    needs = [str(results / need / "train.json") for need in spec["needs"]]
    return ["effrepro", "train-evaluate", "--spec", json.dumps(spec), "--run-dir", str(scratch),
            "--data", *data, "--needs", *needs, "--threads", "1", "--gpus", "0"]


def _results(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if not any(part in k for part in MEASURED_COSTS)}


def pair(results: Path, run: str) -> dict:
    """Both arms of one run at once; their CPU, peak RSS and whether their metrics agree."""
    with tempfile.TemporaryDirectory() as tmp:
        procs = {}
        for arm, env in ARMS.items():
            scratch = Path(tmp) / arm
            log = open(Path(tmp) / f"{arm}.log", "w")
            procs[arm] = (subprocess.Popen(_command(results, run, scratch), stdout=log, stderr=log,
                                           env={**os.environ, **env}), scratch, time.perf_counter())
        row = {"run": run}
        for arm, (proc, scratch, start) in procs.items():
            _, status, usage = os.wait4(proc.pid, 0)
            if status != 0:
                raise RuntimeError(f"{run} ({arm}) failed: see {Path(tmp) / f'{arm}.log'}")
            row[arm] = {"user_s": usage.ru_utime, "system_s": usage.ru_stime, "wall_s": time.perf_counter() - start,
                        "peak_rss_mb": usage.ru_maxrss / 1024}
        kept, glibc = (_results(json.loads((procs[a][1] / "metrics.json").read_text())["metrics"]) for a in ARMS)
        row["same_metrics"] = kept == glibc
        return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=ROOT / "results" / "laptop")
    parser.add_argument("--runs", nargs="+", default=list(DEFAULT_RUNS))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "heap_settings.json")
    args = parser.parse_args()
    rows = []
    for run in args.runs:
        rows.append(pair(args.results.resolve(), run))
        r = rows[-1]
        cpu = {arm: r[arm]["user_s"] + r[arm]["system_s"] for arm in ARMS}
        print(f"{run}: CPU s {cpu['glibc']:.1f} -> {cpu['kept']:.1f} (system {r['glibc']['system_s']:.1f} -> "
              f"{r['kept']['system_s']:.1f}), peak RSS {r['glibc']['peak_rss_mb']:.0f} -> {r['kept']['peak_rss_mb']:.0f} MB, "
              f"same metrics: {r['same_metrics']}", flush=True)
    total = {arm: sum(r[arm]["user_s"] + r[arm]["system_s"] for r in rows) for arm in ARMS}
    print(f"all {len(rows)} runs: CPU s {total['glibc']:.1f} -> {total['kept']:.1f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**machine_record(1), "results": str(args.results), "runs": rows,
                                    "cpu_s": total}, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
