"""Scheduling overhead of the SLURM profile on the local single-node cluster (tools/local-slurm.sh).

    bash tools/local-slurm.sh up && python benchmarks/slurm_overhead.py

Runs the smoke scale of the `baselines` study locally and through profiles/slurm (with 1-second
status polling, as a small cluster allows), and reports the extra wall time per dependency level
of the DAG (fetch, prepare, train, evaluate, collect, table, figure, index): target at most 15 s.
Writes JSON beside the other benchmark results.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

from methods.core.provenance import git_state

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from workflowkit import copy_workflow, snakemake  # noqa: E402  (the tests' throw-away workflow copy)

LEVELS = 8  # fetch -> prepare -> train -> evaluate -> collect -> table -> figure -> index
POLLING = ["--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "1", "--latency-wait", "5"]


def _workflow(target: Path) -> Path:
    copy_workflow(target)
    config = yaml.safe_load((target / "config" / "config.yaml").read_text())
    config["studies"] = {"baselines": {"enabled": True, "datasets": [], "methods": [], "seeds": None}}
    (target / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    return target


def _timed(cwd: Path, *args: str) -> float:
    start = time.perf_counter()
    result = snakemake(cwd, *args, timeout=1800)
    if result.returncode:
        raise SystemExit(result.stdout[-3000:])
    return time.perf_counter() - start


def main() -> None:
    if shutil.which("sinfo") is None:
        raise SystemExit("no SLURM here: start one with `bash tools/local-slurm.sh up`")
    with tempfile.TemporaryDirectory() as tmp:
        local = _timed(_workflow(Path(tmp) / "local"), "--cores", "2", "--config", "scale=smoke")
        slurm = _timed(_workflow(Path(tmp) / "slurm"), "--workflow-profile", "profiles/slurm", *POLLING,
                       "--config", "scale=smoke")
    per_level = (slurm - local) / LEVELS
    commit = git_state()["commit"]
    record = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "commit": commit, "cores": os.cpu_count(), "load_average_1min": os.getloadavg()[0],
              "local_s": round(local, 1), "slurm_s": round(slurm, 1), "levels": LEVELS,
              "overhead_per_level_s": round(per_level, 1), "target_s": 15, "met": per_level <= 15}
    out = ROOT / "benchmarks" / "results" / "slurm_overhead.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
