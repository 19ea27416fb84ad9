"""bfloat16 autocast against float32 on the Meta-MaxUp tables: same runs, same seeds, paired (issue 22).

    python benchmarks/bf16_metalearning.py --workdir <a workdir after a laptop run> [--jobs 2] [--out benchmarks/results/bf16_metalearning.json]

Re-trains every synthetic-glyph run of the metalearning study that the laptop run finished
(``results/laptop/metalearning/glyphs/...``: the ``meta_maxup`` and ``meta_aug_modes`` tables) with
``precision: bfloat16`` added to its parameters (the backbone's training forward pass under autocast,
``methods.metalearning.training.BFloat16Backbone``), in a scratch folder, and compares with the
float32 runs the workflow wrote: per run the training seconds; per table cell (method, setting,
metric) the mean over seeds and its 95% interval in both precisions and whether the bfloat16 mean
lies inside the float32 interval; per claim row the verdict, effect and interval the scorecard gives
with either precision's runs (the Omniglot runs, not re-trained, are shared by both).

Needs a CPU with bfloat16 products (``methods.core.cpu.bf16_matmul``); elsewhere it records why not.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

from benchkit import ROOT, machine_record, train_evaluate_command
from methods.core import cpu, stats
from methods.core.plan import build_plan
from methods.core.study import load_study
from methods.reporting.collect import collect
from methods.reporting.scorecard import evaluate

METRICS = ("acc_1shot", "acc_5shot", "gap")


def _retrain(workdir: Path, metrics_json: Path, scratch: Path) -> Path:
    """One glyph run again, in bfloat16, one thread; returns its metrics.json."""
    spec = json.loads(metrics_json.read_text())["spec"]
    spec["params"] = {**spec["params"], "precision": "bfloat16"}
    run_dir = scratch / metrics_json.parent.relative_to(workdir / "results")
    subprocess.run(train_evaluate_command(workdir, spec, run_dir), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)
    return run_dir / "metrics.json"


def _train_seconds(metrics_json: Path) -> float:
    return float(json.loads(metrics_json.read_text())["train"]["summary"]["seconds"])


def _cells(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean, 95% interval and n over seeds of each glyph (method, setting, metric)."""
    rows = []
    means = runs[(runs["dataset"] == "glyphs") & (runs["sample"] == -1) & runs["metric"].isin(METRICS)]
    for (method, setting, metric), group in means.groupby(["method", "setting", "metric"]):
        summary = stats.t_interval(group["value"])
        rows.append({"method": method, "setting": setting, "metric": metric, "mean": summary.mean,
                     "low": summary.low, "high": summary.high, "n": summary.n})
    return pd.DataFrame(rows)


def _reasons(study_name: str) -> dict[str, str]:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    plan = build_plan({**config, "download": True})
    return {row.key: row.reason for row in plan.claims if row.study == study_name}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True, help="a checkout whose laptop run finished")
    parser.add_argument("--jobs", type=int, default=2, help="runs re-trained at once (one thread each)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "bf16_metalearning.json")
    args = parser.parse_args()
    workdir = args.workdir.resolve()
    record = {**machine_record(1), "workdir_commit": subprocess.run(
        ["git", "-C", str(workdir), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()}
    capability = cpu.bf16_matmul()
    record["bf16"] = {"supported": capability.supported, "reason": capability.reason}
    if capability.supported:
        record.update(compare(workdir, args.jobs))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1, default=float) + "\n")
    print(json.dumps({k: record[k] for k in ("bf16", "train_seconds", "claims_changed") if k in record}, indent=1))


def compare(workdir: Path, jobs: int) -> dict:
    results = workdir / "results" / "laptop" / "metalearning"
    float32 = sorted(results.glob("*/*/*/seed*/metrics.json"))
    glyphs = [p for p in float32 if p.relative_to(results).parts[0] == "glyphs"]
    with tempfile.TemporaryDirectory() as tmp, concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        bf16 = list(pool.map(lambda p: _retrain(workdir, p, Path(tmp)), glyphs))
        swapped = [p for p in float32 if p not in glyphs] + bf16
        runs = {"float32": collect(float32), "bfloat16": collect(swapped)}
        seconds = {"float32": sum(map(_train_seconds, glyphs)), "bfloat16": sum(map(_train_seconds, bf16))}
    study = load_study("metalearning")
    reasons = _reasons("metalearning")
    claims = {name: evaluate(study, frame, "laptop", reasons) for name, frame in runs.items()}
    key = ["claim", "dataset", "setting", "metric"]
    verdicts = claims["float32"].merge(claims["bfloat16"], on=key, suffixes=("_float32", "_bfloat16"))
    verdicts = verdicts[verdicts["verdict_float32"] != "not run"]
    cells = _cells(runs["float32"]).merge(_cells(runs["bfloat16"]), on=["method", "setting", "metric"],
                                          suffixes=("_float32", "_bfloat16"))
    cells["inside_float32_interval"] = cells["mean_bfloat16"].between(cells["low_float32"], cells["high_float32"])
    changed = verdicts[verdicts["verdict_float32"] != verdicts["verdict_bfloat16"]]
    return {
        "runs": len(glyphs),
        "train_seconds": {**seconds, "speedup": seconds["float32"] / seconds["bfloat16"]},
        "cells": cells.to_dict("records"),
        "claims": verdicts[[*key, "verdict_float32", "effect_float32", "ci95_low_float32", "ci95_high_float32",
                            "verdict_bfloat16", "effect_bfloat16", "ci95_low_bfloat16", "ci95_high_bfloat16"]
                           ].to_dict("records"),
        "claims_changed": len(changed),
    }


if __name__ == "__main__":
    sys.exit(main())
