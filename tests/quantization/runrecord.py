"""A run's evaluation written as the runner writes ``metrics.json`` (for the tests that collect it into a table)."""

from __future__ import annotations

import json
from pathlib import Path


def write_metrics(tmp_path: Path, spec: dict, result: dict, seed: int) -> Path:
    record = {"spec": spec, "metrics": result["metrics"], "timings": result["timings"],
              "kernels": result["kernels"],
              "provenance": {"git": {"commit": "c0ffee", "dirty": False}, "spec_hash": "x", "threads": 1,
                             "cpu": "Test CPU"}}
    path = tmp_path / f"seed{seed}" / "metrics.json"
    path.parent.mkdir()
    path.write_text(json.dumps(record))  # None stays null, as atomic.write_json writes it
    return path
