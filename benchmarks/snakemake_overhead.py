"""What a workflow run costs beyond its jobs' own work: Snakemake's process, its helpers, and job start.

    python benchmarks/snakemake_overhead.py [--scale smoke] [--rounds 2] [--variant NAME=ARGS ... | --against REV]
                                            [--common ARGS] [--out benchmarks/results/snakemake_overhead.json]

Runs the workflow at one scale in a scratch copy, once per variant per round, in alternation (A, B,
A, B: a paired measurement on a machine whose speed drifts). The first run prepares ``resources/``,
which every measured run then keeps; each measured run starts from an empty ``results/`` and
``reports/``, so every run does the same train, evaluate and report work. Per run it records the
wall time, the CPU time of Snakemake's own process (its scheduler, DAG and bookkeeping, threads
included), the CPU time of everything it started, and the CPU time of the train/evaluate jobs
themselves (their ``benchmark:`` records). What is left after the jobs is the overhead this
benchmark is for: Snakemake's process, the scheduler's solver (``--scheduler ilp`` runs the CBC
binary at every scheduling step), shells, and the non-benchmarked rules (prepare, collect, report).

Variants are extra Snakemake arguments, e.g. ``--variant ilp= --variant greedy="--scheduler greedy"``
(the default pair). ``--against REV`` compares code instead: the workflow and ``methods`` of commit
REV (a temporary git worktree) against this checkout's, same arguments, in alternation.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from methods.core.provenance import cpu_model, git_state

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from workflowkit import copy_workflow  # noqa: E402  (the tests' throw-away workflow copy)

sys.path.insert(0, str(ROOT / "benchmarks"))
from where_time_goes import job_records  # noqa: E402

# Runs Snakemake's CLI in this interpreter and writes the process's own CPU time on exit.
_IN_PROCESS = """
import json, resource, sys
from snakemake.cli import main
code = 0
try:
    main(sys.argv[2:])
except SystemExit as stop:
    code = stop.code or 0
usage = resource.getrusage(resource.RUSAGE_SELF)
with open(sys.argv[1], "w") as out:
    json.dump({"user_s": usage.ru_utime, "system_s": usage.ru_stime, "returncode": code}, out)
sys.exit(code)
"""


def run_snakemake(work: Path, args: list[str], env: dict | None = None, timeout: float | None = None) -> float:
    """Snakemake's CLI with ``args`` in ``work`` (exits with its output if it fails); returns the CPU
    seconds of Snakemake's own process."""
    own_file = work / ".snakemake_own_cpu.json"
    result = subprocess.run([sys.executable, "-c", _IN_PROCESS, str(own_file), *args], cwd=work, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, timeout=timeout)
    if result.returncode:
        raise SystemExit(f"snakemake {' '.join(args)} failed:\n{result.stdout[-3000:]}")
    own = json.loads(own_file.read_text())
    own_file.unlink()
    return own["user_s"] + own["system_s"]


def timed_run(work: Path, scale: str, extra: list[str], code: Path = ROOT) -> dict:
    """One Snakemake run from empty results/ and reports/: wall, own, started and job CPU seconds.
    ``code``: the checkout whose ``methods`` package the workflow and its jobs import."""
    for generated in ("results", "reports", ".snakemake"):
        shutil.rmtree(work / generated, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(code), os.environ.get("PYTHONPATH")]))}
    before, start = os.times(), time.perf_counter()
    own_cpu = run_snakemake(work, ["--cores", "8", "--config", f"scale={scale}", *extra], env)
    wall, after = time.perf_counter() - start, os.times()
    everything = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    jobs = job_records(work / "results" / scale)
    return {"wall_s": wall, "snakemake_process_cpu_s": own_cpu, "all_cpu_s": everything,
            "jobs_cpu_s": float(jobs["cpu_s"].sum()), "jobs": len(jobs),
            "other_children_cpu_s": everything - own_cpu - float(jobs["cpu_s"].sum())}


def _variants(pairs: list[str]) -> dict[str, list[str]]:
    if not pairs:
        return {"ilp": [], "greedy": ["--scheduler", "greedy"]}
    return {name: shlex.split(args) for name, _, args in (pair.partition("=") for pair in pairs)}


def _workdirs(tmp: Path, variants: dict[str, list[str]], against: str | None) -> dict[str, tuple[Path, Path, list[str]]]:
    """Per variant: the scratch workflow copy, the checkout its code comes from, its extra arguments."""
    if against is None:
        work = copy_workflow(tmp / "work")
        return {name: (work, ROOT, extra) for name, extra in variants.items()}
    old = tmp / "against"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(old), against], check=True)
    return {against: (copy_workflow_from(old, tmp / "work-old"), old, []),
            "this checkout": (copy_workflow(tmp / "work-new"), ROOT, [])}


def copy_workflow_from(checkout: Path, target: Path) -> Path:
    """:func:`copy_workflow` of another checkout (its Snakefile, workflow, config, profiles, envs)."""
    target.mkdir(parents=True)
    for name in ("Snakefile", "workflow", "config", "profiles", "envs"):
        source = checkout / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, target / name)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="smoke")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=ARGS")
    parser.add_argument("--common", default="", metavar="ARGS",
                        help="Snakemake arguments of every run, the preparing one included (e.g. a --configfile "
                             "that enables one study)")
    parser.add_argument("--against", metavar="REV", help="compare this checkout's code with commit REV")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "snakemake_overhead.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="effrepro-overhead-") as tmp:
        setups = _workdirs(Path(tmp), _variants(args.variant), args.against)
        common = shlex.split(args.common)
        runs: dict[str, list[dict]] = {name: [] for name in setups}
        try:
            for work, code, _ in {work: (work, code, extra) for work, code, extra in setups.values()}.values():
                timed_run(work, args.scale, common, code)  # prepares resources/ once per copy; not counted
            for round_ in range(args.rounds):
                for name, (work, code, extra) in setups.items():
                    runs[name].append(timed_run(work, args.scale, common + extra, code))
                    print(f"round {round_ + 1} {name}: " + ", ".join(f"{k} {v:.1f}" for k, v in runs[name][-1].items()),
                          flush=True)
        finally:
            if args.against:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(Path(tmp) / "against")])
    summary = {name: {key: statistics.median(run[key] for run in done) for key in done[0]} for name, done in runs.items()}
    record = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "commit": git_state()["commit"], "cpu": cpu_model(), "cores": os.cpu_count(), "scale": args.scale,
              "variants": {name: f"{code}: {' '.join(extra)}" for name, (_, code, extra) in setups.items()}, "runs": runs,
              "median": summary}
    Path(args.out).write_text(json.dumps(record, indent=2))
    for name, values in summary.items():
        print(f"median {name}: " + ", ".join(f"{k} {v:.1f}" for k, v in values.items()))


if __name__ == "__main__":
    main()
