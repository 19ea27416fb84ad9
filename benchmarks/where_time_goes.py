"""Where a workflow run's time went, from the per-job records the run already wrote.

    python benchmarks/where_time_goes.py [--scale laptop] [--top 10] [--out benchmarks/results/where_time_goes_<scale>.json]

Every train and evaluate job has a ``benchmark:`` file (wall seconds of the job) and measures its
own CPU seconds and peak RSS exactly (``cost`` in ``train.json`` / ``metrics.json``; jobs from
before that fall back to the benchmark's samples, which miss the end of most jobs). This sums them
per study and stage, lists the most expensive jobs, and
estimates the fixed cost every job pays before it does any work (interpreter start plus importing
torch and the study), measured here in fresh interpreters, as a share of all CPU time. CPU seconds
are the figure to compare: wall seconds stretch when jobs share the cores.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from methods.core.provenance import git_state
from methods.reporting.collect import stage_costs

ROOT = Path(__file__).resolve().parents[1]


def _run_record(run_dir: Path) -> dict:
    """The run's metrics.json, or what its train.json says where it was only trained (a run others need)."""
    for name, wrap in (("metrics.json", lambda r: r), ("train.json", lambda r: {"train": r})):
        if (run_dir / name).exists():
            return wrap(json.loads((run_dir / name).read_text()))
    return {}


def job_records(results: Path) -> pd.DataFrame:
    """One row per train/evaluate job: study, stage, run, wall and CPU seconds, peak RSS (MB)."""
    rows = []
    for path in sorted(results.rglob("*.benchmark.tsv")):
        run_dir, stage = path.parent, path.name.split(".")[0]
        run = run_dir.relative_to(results)
        costs = stage_costs(run_dir, _run_record(run_dir))[stage]  # the last attempt's benchmark row
        rows.append({"study": run.parts[0], "stage": stage, "run": str(run), "wall_s": costs["wall_s"],
                     "cpu_s": costs["cpu_s"], "max_rss_mb": costs["peak_rss_mb"]})
    if not rows:
        raise SystemExit(f"no *.benchmark.tsv under {results}: run the workflow at this scale first")
    return pd.DataFrame(rows)


def job_start_cost(repeats: int = 5) -> float:
    """Median CPU seconds of a fresh interpreter that imports torch and the job entry point."""
    code = "import torch, methods.cli, methods.core.runner"
    costs = []
    for _ in range(repeats):
        before = os.times()
        subprocess.run([sys.executable, "-c", code], check=True)
        after = os.times()
        costs.append((after.children_user - before.children_user) + (after.children_system - before.children_system))
    return statistics.median(costs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="laptop")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    jobs = job_records(ROOT / "results" / args.scale)
    by_stage = (jobs.groupby(["study", "stage"])
                .agg(jobs=("run", "size"), cpu_s=("cpu_s", "sum"), wall_s=("wall_s", "sum"),
                     median_cpu_s=("cpu_s", "median"), max_rss_mb=("max_rss_mb", "max"))
                .reset_index())
    total_cpu = jobs["cpu_s"].sum()
    by_stage["cpu_share_pct"] = 100 * by_stage["cpu_s"] / total_cpu
    start = time.perf_counter()
    start_cost = job_start_cost()
    overhead = start_cost * len(jobs)
    print(tabulate(by_stage, headers="keys", tablefmt="github", floatfmt=".1f", showindex=False))
    print(f"\n{len(jobs)} jobs, {total_cpu:.0f} CPU s in all ({total_cpu / 2 / 60:.1f} min on 2 cores if perfectly parallel)")
    print(f"fixed start cost per job: {start_cost:.2f} CPU s; all jobs together {overhead:.0f} CPU s "
          f"= {100 * overhead / total_cpu:.1f}% of the CPU time (measured in {time.perf_counter() - start:.0f} s)")
    top = jobs.sort_values("cpu_s", ascending=False).head(args.top)
    print(f"\nmost expensive {args.top} jobs:")
    print(tabulate(top[["run", "stage", "cpu_s", "wall_s", "max_rss_mb"]], headers="keys", tablefmt="github",
                   floatfmt=".1f", showindex=False))
    commit = git_state()["commit"]
    record = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "commit": commit,
              "scale": args.scale, "cores": os.cpu_count(), "jobs": len(jobs), "total_cpu_s": round(total_cpu, 1),
              "job_start_cpu_s": round(start_cost, 2), "job_start_share_pct": round(100 * overhead / total_cpu, 1),
              "by_stage": by_stage.round(2).to_dict(orient="records"),
              "top_jobs": top.round(2).to_dict(orient="records")}
    out = Path(args.out or ROOT / "benchmarks" / "results" / f"where_time_goes_{args.scale}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
