"""Workflow-level targets (issue: workflow backbone), measured in a scratch copy of the repository.

    python benchmarks/workflow_targets.py [--laptop] [--default [--skip-smoke] [--workdir DIR]]
                                          [--out benchmarks/results/workflow_targets.json]

Measures: the dry run over the laptop grid (target <= 5 s), the smoke scale of every enabled study
from a clean results/ (target <= 3 min on 2 cores), a re-run with nothing to do (target <= 5 s),
with --laptop the laptop scale of the `baselines` study (target <= 5 min), and with --default the
product's front door (issue 22): the default run, `snakemake --cores 8` (laptop, no downloads,
target <= 60 min on 2 cores), then what `--config download=true` adds (Omniglot; target <= 20 min;
set EFFREPRO_MIRROR to serve it offline). Each figure comes with the CPU seconds the run used, Snakemake
and every job together, the part of them Snakemake's own process used (its scheduler, DAG and
bookkeeping), and how busy that kept the cores (CPU / (cores x wall)): below 100% the
run's wall time is scheduling and waiting, not work. Run it on a quiet machine: the timings are the verdict.
--workdir runs in a clean checkout (a fresh `git worktree`, whose reports/laptop can then be
committed: one clean run on one commit) instead of a scratch copy; `python
benchmarks/where_time_goes.py` afterwards splits the run per study and stage. Prints a table and
writes JSON with the machine, date and commit.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from methods.core.atomic import write_text
from methods.core.provenance import cpu_model, git_state

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from workflowkit import copy_workflow  # noqa: E402  (the tests' throw-away workflow copy)

sys.path.insert(0, str(ROOT / "benchmarks"))
from snakemake_overhead import run_snakemake  # noqa: E402  (Snakemake's CLI; reports its own process's CPU)

TARGETS_S = {"dry_run_laptop": 5, "smoke_all_studies": 180, "noop_rerun_smoke": 5, "laptop_baselines": 300,
             "laptop_default": 3600, "laptop_download_adds": 1200}


def _children_cpu_s() -> float:
    """CPU seconds of every finished child process and its descendants (Snakemake, its jobs, solver)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _timed(cwd: Path, *args: str, timeout: int = 3600) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, CPU seconds of Snakemake's own process) of one Snakemake run."""
    start, cpu = time.perf_counter(), _children_cpu_s()
    own = run_snakemake(cwd, list(args), timeout=timeout)
    return time.perf_counter() - start, _children_cpu_s() - cpu, own


def _record(measured: dict[str, tuple[float, float, float]]) -> dict:
    """The JSON record of the measurements so far, with the machine, date and commit."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": git_state()["commit"], "cpu": cpu_model(), "cores": os.cpu_count(),
        "python": platform.python_version(),
        "results": {name: {"seconds": round(wall, 2), "target_seconds": TARGETS_S[name], "met": wall <= TARGETS_S[name],
                           "cpu_seconds": round(cpu, 1), "snakemake_process_cpu_seconds": round(own, 1),
                           "busy_pct": round(100 * cpu / (os.cpu_count() * wall), 1)}
                    for name, (wall, cpu, own) in measured.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--laptop", action="store_true", help="also time the laptop-scale baselines study")
    parser.add_argument("--default", action="store_true",
                        help="also time the default laptop run and what download=true adds (about an hour)")
    parser.add_argument("--skip-smoke", action="store_true", help="leave out the dry, smoke and no-op runs")
    parser.add_argument("--workdir", help="a clean checkout to run in, instead of a scratch copy")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "workflow_targets.json"))
    args = parser.parse_args()
    measured = {}

    def measure(name: str, *snakemake_args: str, timeout: int = 3600) -> None:
        """Time one run and rewrite the record at once: a session cut off mid-way keeps what it measured."""
        measured[name] = _timed(work, *snakemake_args, timeout=timeout)
        write_text(args.out, json.dumps(_record(measured), indent=2) + "\n")

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="effrepro-bench-") as tmp:
        work = Path(args.workdir).resolve() if args.workdir else copy_workflow(Path(tmp))
        if not args.skip_smoke:
            measure("dry_run_laptop", "-n", "--quiet", "--config", "scale=laptop")
            measure("smoke_all_studies", "--cores", "8", "--config", "scale=smoke")
            measure("noop_rerun_smoke", "--cores", "8", "--config", "scale=smoke")
        if args.default:
            measure("laptop_default", "--cores", "8", timeout=3 * 3600)
            measure("laptop_download_adds", "--cores", "8", "--config", "download=true", timeout=3 * 3600)
        if args.laptop:
            from methods.core.study import available_studies

            # --configfile merges into config/config.yaml, so the other studies are switched off explicitly
            only = {"scale": "laptop", "studies": {name: {"enabled": name == "baselines"} for name in available_studies()}}
            (work / "baselines-only.yaml").write_text(json.dumps(only))
            measure("laptop_baselines", "--cores", "8", "--configfile", "baselines-only.yaml")
    record = _record(measured)
    print(f"{'measurement':<22} {'seconds':>9} {'target':>8}  {'met':<5} {'CPU s':>8} {'Snakemake':>9} {'busy':>6}")
    for name, row in record["results"].items():
        print(f"{name:<22} {row['seconds']:>9.1f} {row['target_seconds']:>8}  {row['met']!s:<5} "
              f"{row['cpu_seconds']:>8.1f} {row['snakemake_process_cpu_seconds']:>9.1f} {row['busy_pct']:>5.1f}%")


if __name__ == "__main__":
    main()
