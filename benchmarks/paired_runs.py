"""What a change saves a job, paired per run: finished runs re-run in two arms at once.

    python benchmarks/paired_runs.py --results results/laptop [--runs RUN ...]
                                     (--against REV | --env NAME=VARIABLE=VALUE) [--out JSON]

Re-runs finished runs of a workflow results folder (``effrepro train-evaluate``, one thread, in a
scratch folder; the prepared data and the runs they need are read from where the workflow left them)
twice at once on two cores: once with this checkout's code as the jobs run now (arm ``this``), once
with the code of commit REV (a temporary git worktree put first on ``PYTHONPATH``) or with one
environment variable set (e.g. ``--env glibc=EFFREPRO_HEAP=glibc``: glibc's allocator as it comes,
``methods/core/heap.py``). Both arms share the machine in the same seconds, so what the other arm does
to the caches and the memory bus falls on both. For each run it records user and system CPU seconds
and the peak RSS of each arm (``wait4``), whether the two arms wrote the same metrics, and the
largest relative difference between them (measured costs such as pruning seconds, peak memory and
latencies left out: those are measurements, not results).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

from benchkit import ROOT, machine_record, train_evaluate_command

# one heavy run per study kind at laptop scale (the WrapNet evaluation is where the heap's effect was found)
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
MEASURED_COSTS = ("prune_s@", "prune_peak_mb@", "latency", "seconds", "speedup")


def _command(results: Path, run: str, scratch: Path) -> list[str]:
    spec = json.loads((results / run / "metrics.json").read_text())["spec"]
    return train_evaluate_command(results.parents[1], spec, scratch)


def _results(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if not any(part in k for part in MEASURED_COSTS)}


def largest_relative_difference(a: dict, b: dict) -> float:
    """max |a - b| / max(|a|, |b|) over the numeric keys both share (0 where both are 0)."""
    worst = 0.0
    for key in a.keys() & b.keys():
        x, y = a[key], b[key]
        if isinstance(x, (int, float)) and isinstance(y, (int, float)) and (x or y):
            worst = max(worst, abs(x - y) / max(abs(x), abs(y)))
    return worst


def pair(results: Path, run: str, arms: dict[str, dict]) -> dict:
    """Both arms of one run at once; their CPU, peak RSS and how far their metrics differ."""
    with tempfile.TemporaryDirectory() as tmp:
        procs = {}
        for arm, env in arms.items():
            scratch = Path(tmp) / arm
            log = open(Path(tmp) / f"{arm}.log", "w")
            procs[arm] = (subprocess.Popen(_command(results, run, scratch), stdout=log, stderr=log,
                                           env={**os.environ, **env}), scratch, time.perf_counter())
        row = {"run": run}
        for arm, (proc, scratch, start) in procs.items():
            _, status, usage = os.wait4(proc.pid, 0)
            if status != 0:
                raise RuntimeError(f"{run} ({arm}) failed: {(Path(tmp) / f'{arm}.log').read_text()[-2000:]}")
            row[arm] = {"user_s": usage.ru_utime, "system_s": usage.ru_stime, "wall_s": time.perf_counter() - start,
                        "peak_rss_mb": usage.ru_maxrss / 1024}
        first, second = (_results(json.loads((procs[a][1] / "metrics.json").read_text())["metrics"]) for a in arms)
        row["same_metrics"] = first == second
        row["largest_relative_difference"] = largest_relative_difference(first, second)
        return row


@contextlib.contextmanager
def _arms(against: str | None, env: str | None) -> Iterator[tuple[str, dict[str, dict]]]:
    """(other arm's name, {arm: extra environment}), this checkout's arm last."""
    def first_on_path(tree: Path) -> dict:
        return {"PYTHONPATH": os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")]))}

    if env:
        name, _, setting = env.partition("=")
        variable, _, value = setting.partition("=")
        yield name, {name: {**first_on_path(ROOT), variable: value}, "this": first_on_path(ROOT)}
        return
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), against], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            yield against, {against: first_on_path(tree), "this": first_on_path(ROOT)}
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=ROOT / "results" / "laptop")
    parser.add_argument("--runs", nargs="+", default=list(DEFAULT_RUNS))
    other = parser.add_mutually_exclusive_group(required=True)
    other.add_argument("--against", help="the other arm runs this commit's code")
    other.add_argument("--env", help="NAME=VARIABLE=VALUE: the other arm runs with VARIABLE=VALUE")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "paired_runs.json")
    args = parser.parse_args()
    rows = []
    with _arms(args.against, args.env) as (base, arms):
        for run in args.runs:
            rows.append(pair(args.results.resolve(), run, arms))
            r = rows[-1]
            cpu = {arm: r[arm]["user_s"] + r[arm]["system_s"] for arm in arms}
            print(f"{run}: CPU s {cpu[base]:.1f} -> {cpu['this']:.1f} (system {r[base]['system_s']:.1f} -> "
                  f"{r['this']['system_s']:.1f}), peak RSS {r[base]['peak_rss_mb']:.0f} -> "
                  f"{r['this']['peak_rss_mb']:.0f} MB, same metrics: {r['same_metrics']} "
                  f"(largest relative difference {r['largest_relative_difference']:.2g})", flush=True)
        total = {arm: sum(r[arm]["user_s"] + r[arm]["system_s"] for r in rows) for arm in arms}
    print(f"all {len(rows)} runs: CPU s {total[base]:.1f} -> {total['this']:.1f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**machine_record(1), "results": str(args.results), "arms": arms,
                                    "base": base, "runs": rows, "cpu_s": total}, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
