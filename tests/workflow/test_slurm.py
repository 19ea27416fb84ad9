"""The smoke scale of a whole study submitted to a real SLURM through profiles/slurm.

Skipped where SLURM is not running (`sinfo` absent or failing); CI starts a single-node cluster
with tools/local-slurm.sh before the tests and tears it down afterwards.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml

from workflowkit import copy_workflow, snakemake


def _slurm_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    result = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    return result.returncode == 0 and bool(re.search(r"idle|mixed|allocated", result.stdout))


pytestmark = [pytest.mark.slow, pytest.mark.skipif(not _slurm_up(), reason="no running SLURM (sinfo)")]
DETERMINISTIC = ["accuracy", "params", "flops"]
FAST_POLLING = ["--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "1",
                "--latency-wait", "5"]


def _only_baselines(root):
    path = root / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config["studies"] = {"baselines": {"enabled": True, "datasets": [], "methods": [], "seeds": None}}
    path.write_text(yaml.safe_dump(config))
    return root


def _quality(root):
    table = pd.read_csv(root / "reports" / "smoke" / "baselines.csv")
    table = table[table["metric"].isin(DETERMINISTIC) & (table["n"] > 0)]
    return table.set_index(["dataset", "method", "setting", "metric"])[["mean", "ci95_low", "ci95_high", "n"]].sort_index()


def test_smoke_study_on_slurm_equals_the_local_run(tmp_path):
    local = _only_baselines(copy_workflow(tmp_path / "local"))
    result = snakemake(local, "--cores", "2", "--config", "scale=smoke")
    assert result.returncode == 0, result.stdout[-3000:]

    cluster = _only_baselines(copy_workflow(tmp_path / "slurm"))
    result = snakemake(cluster, "--workflow-profile", "profiles/slurm", *FAST_POLLING, "--config", "scale=smoke",
                       timeout=900)
    assert result.returncode == 0, result.stdout[-5000:]
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", result.stdout)
    jobs = int(re.search(r"^total\s+(\d+)$", result.stdout, flags=re.M).group(1))
    assert len(submitted) >= jobs - 1  # every job but the local `all`
    logs = list((cluster / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert {p.stem for p in logs} >= set(submitted[:3])
    assert any("rule_train" in str(p) for p in logs)

    pd.testing.assert_frame_equal(_quality(local), _quality(cluster))


def _running_train_job() -> str | None:
    listing = subprocess.run(["squeue", "-h", "-t", "RUNNING", "-o", "%i|%k"], capture_output=True, text=True).stdout
    for line in listing.splitlines():
        job, _, comment = line.partition("|")
        if "train" in comment:
            return job.strip()
    return None


def test_cancelled_training_job_is_resubmitted_and_resumes_from_its_checkpoint(tmp_path):
    root = copy_workflow(tmp_path / "slurm")
    path = root / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config["studies"] = {"baselines": {"enabled": True, "datasets": ["digits"], "methods": [], "seeds": 1}}
    path.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "snakemake", "--workflow-profile", "profiles/slurm", *FAST_POLLING,
               "--config", "scale=laptop"]
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    checkpoint = root / "results" / "laptop" / "baselines" / "digits" / "mlp" / "dense" / "seed0" / "checkpoint.pt"
    deadline = time.time() + 600
    job = None
    while time.time() < deadline and process.poll() is None:
        job = _running_train_job()
        if job and checkpoint.exists():
            break
        time.sleep(0.3)
    assert job and checkpoint.exists(), "no running training job with a checkpoint was seen"
    subprocess.run(["scancel", job], check=True)
    output, _ = process.communicate(timeout=900)
    assert process.returncode == 0, output[-5000:]
    log = (checkpoint.parent / "train.log").read_text()
    assert "resumed baselines/digits/mlp/dense/seed0" in log, log[-2000:]
    assert (root / "reports" / "laptop" / "baselines.csv").exists()
