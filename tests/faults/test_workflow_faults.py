"""Runs killed at random points, failing jobs and retries: nothing finished is lost or redone,
and the final tables equal those of an uninterrupted run."""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from workflowkit import copy_workflow, snakemake

pytestmark = pytest.mark.slow
KILLS = int(os.environ.get("EFFREPRO_KILLS", "3"))
DETERMINISTIC = ["accuracy", "params", "flops"]


def _digits_only(root: Path, seeds: int = 3) -> Path:
    path = root / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config["studies"] = {"baselines": {"enabled": True, "datasets": ["digits"], "methods": [], "seeds": seeds}}
    path.write_text(yaml.safe_dump(config))
    return root


def _table(root: Path) -> pd.DataFrame:
    table = pd.read_csv(root / "reports" / "smoke" / "baselines.csv")
    table = table[table["metric"].isin(DETERMINISTIC) & (table["n"] > 0)]
    return table.set_index(["dataset", "method", "metric"])[["mean", "ci95_low", "ci95_high", "n"]].sort_index()


def _marked_incomplete(root: Path) -> set[Path]:
    """Outputs whose job Snakemake started but has not recorded as finished.

    Snakemake 9's file persistence keeps one marker per such output under
    ``.snakemake/incomplete``, named by the URL-safe base64 of the output path (split into
    ``@``-prefixed folders when longer than a file name may be). A job killed between
    renaming its output into place and Snakemake's record is not finished: ``--rerun-incomplete``
    runs it again.
    """
    markers = root / ".snakemake" / "incomplete"
    if not markers.exists():
        return set()
    return {root / base64.urlsafe_b64decode("".join(part.lstrip("@") for part in marker.relative_to(markers).parts)).decode()
            for marker in markers.rglob("*") if marker.is_file() and marker.name != "migration_underway"}


def _finished(root: Path) -> dict[Path, int]:
    """Outputs of jobs Snakemake recorded as finished, with their modification times."""
    incomplete = _marked_incomplete(root)
    done = {}
    for path in (root / "results").rglob("*.json"):
        json.loads(path.read_text())  # an output under its real name is never half written
        if path not in incomplete:
            done[path] = path.stat().st_mtime_ns
    return done


def test_random_kills_lose_and_redo_nothing_and_tables_match(tmp_path):
    reference = _digits_only(copy_workflow(tmp_path / "reference"))
    assert snakemake(reference, "--cores", "2", "--config", "scale=smoke").returncode == 0

    victim = _digits_only(copy_workflow(tmp_path / "victim"))
    rng = random.Random(2024)
    for _ in range(KILLS):
        before = _finished(victim)
        process = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "2", "--config", "scale=smoke"],
                                   cwd=victim, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        time.sleep(rng.uniform(2.0, 12.0))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        after = _finished(victim)
        changed = sorted(str(path.relative_to(victim)) for path, mtime in before.items() if after.get(path) != mtime)
        assert not changed, f"finished outputs redone or lost: {changed}"
        assert snakemake(victim, "--unlock").returncode == 0
    result = snakemake(victim, "--cores", "2", "--config", "scale=smoke")
    assert result.returncode == 0, result.stdout[-3000:]
    pd.testing.assert_frame_equal(_table(reference), _table(victim))


def test_job_failing_on_its_first_attempt_succeeds_on_retry(tmp_path):
    root = _digits_only(copy_workflow(tmp_path / "wf"), seeds=2)
    marker = tmp_path / "failed-once"
    env = {"EFFREPRO_FAIL_ONCE": f"train:baselines/digits/mlp/dense/seed1:{marker}"}
    result = snakemake(root, "--cores", "2", "--retries", "1", "--config", "scale=smoke", env=env)
    assert result.returncode == 0, result.stdout[-3000:]
    assert marker.exists()  # the first attempt really failed
    assert "Trying to restart job" in result.stdout or "attempt 2" in result.stdout.lower()
    assert (root / "reports" / "smoke" / "baselines.csv").exists()


def test_without_retries_a_failed_job_leaves_no_output_and_a_rerun_finishes(tmp_path):
    root = _digits_only(copy_workflow(tmp_path / "wf"), seeds=2)
    marker = tmp_path / "failed-once"
    env = {"EFFREPRO_FAIL_ONCE": f"evaluate:baselines/digits/mlp/dense/seed0:{marker}"}
    failed = snakemake(root, "--cores", "2", "--retries", "0", "--config", "scale=smoke", env=env)
    assert failed.returncode != 0
    run = root / "results" / "smoke" / "baselines" / "digits" / "mlp" / "dense"
    assert not (run / "seed0" / "metrics.json").exists()
    assert (run / "seed1" / "metrics.json").exists()  # independent work finished (keep-going)
    assert not (root / "reports" / "smoke" / "baselines.csv").exists()
    done = (run / "seed1" / "metrics.json").stat().st_mtime_ns
    rerun = snakemake(root, "--cores", "2", "--config", "scale=smoke", env=env)
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    assert (run / "seed1" / "metrics.json").stat().st_mtime_ns == done


def test_truncated_prepared_data_fails_naming_the_file(tmp_path):
    root = _digits_only(copy_workflow(tmp_path / "wf"), seeds=1)
    assert snakemake(root, "--cores", "1", "--config", "scale=smoke", "--until", "prepare").returncode == 0
    prepared = root / "resources" / "prepared" / "digits.npz"
    prepared.write_bytes(prepared.read_bytes()[:200])
    result = snakemake(root, "--cores", "1", "--retries", "0", "--config", "scale=smoke")
    assert result.returncode != 0
    assert "digits.npz" in result.stdout
    assert not list((root / "results").rglob("metrics.json"))
