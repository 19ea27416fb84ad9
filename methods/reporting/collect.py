"""Collect every run of a study into one tidy long table (one row per run x metric [x sample]).

Quality metrics and timings come from each run's ``metrics.json``. The cost columns of the run's
train and evaluate jobs, or of its one ``train_evaluate`` job: wall time from Snakemake's
``benchmark:`` files (the whole job, interpreter start included), CPU time and peak resident
memory as the job measured them itself (``cost`` in ``train.json`` and ``metrics.json``,
:func:`methods.core.runner._cost`), which are exact where the benchmark's samples miss the end of
a job; runs from before the jobs measured CPU fall back to the benchmark's. Provenance columns (commit,
dirty flag, spec hash, CPU, and ``kernels``: the run's ``{method: kernel note}`` as JSON) make
every cell traceable. A value a CPU could not measure (None: no int8 engine) becomes NaN, a cell
without a number.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

_BENCHMARK_COLUMNS = {"s": "wall_s", "max_rss": "peak_rss_mb", "cpu_time": "cpu_s"}
ID_COLUMNS = ["study", "dataset", "method", "setting", "seed", "run_id"]


def _benchmark(path: Path) -> dict[str, float]:
    if not path.exists():
        return {}
    frame = pd.read_csv(path, sep="\t")
    row = frame.iloc[-1]
    return {name: float(row[col]) for col, name in _BENCHMARK_COLUMNS.items()
            if col in frame and pd.notna(row[col]) and row[col] != "-"}


def _measured(cost: dict) -> dict[str, float]:
    return {name: float(cost[name]) for name in ("cpu_s", "peak_rss_mb") if cost.get(name) is not None}


def stage_costs(run_dir: Path, record: dict) -> dict[str, dict[str, float]]:
    """Stage (train, evaluate, train_evaluate) -> wall_s, cpu_s, peak_rss_mb of each job the run had."""
    train, evaluate = _measured(record.get("train", {}).get("cost", {})), _measured(record.get("cost", {}))
    measured = {"train": train, "evaluate": evaluate, "train_evaluate": {}}
    if "cpu_s" in train and "cpu_s" in evaluate:
        measured["train_evaluate"]["cpu_s"] = train["cpu_s"] + evaluate["cpu_s"]
    if "peak_rss_mb" in train and "peak_rss_mb" in evaluate:
        measured["train_evaluate"]["peak_rss_mb"] = max(train["peak_rss_mb"], evaluate["peak_rss_mb"])
    costs = {}
    for stage, own in measured.items():
        benchmark = _benchmark(run_dir / f"{stage}.benchmark.tsv")
        if benchmark:  # this stage ran as a job
            costs[stage] = {**benchmark, **own}
    return costs


def run_rows(metrics_path: Path) -> list[dict]:
    record = json.loads(Path(metrics_path).read_text())
    spec, prov = record["spec"], record["provenance"]
    run_dir = Path(metrics_path).parent
    base = {
        "study": spec["study"], "dataset": spec["dataset"], "method": spec["method"],
        "setting": spec["setting"], "seed": int(spec["seed"]),
        "run_id": f"{spec['study']}/{spec['dataset']}/{spec['method']}/{spec['setting']}/seed{spec['seed']}",
        "commit": prov["git"]["commit"], "dirty": bool(prov["git"]["dirty"]),
        "spec_hash": prov["spec_hash"], "threads": prov["threads"], "cpu": prov["cpu"],
        "kernels": json.dumps(record.get("kernels", {}), sort_keys=True),
    }
    rows = []

    def add(metric, value, kind, sample=-1):
        value = float("nan") if value is None else float(value)
        rows.append({**base, "metric": metric, "value": value, "kind": kind, "sample": sample})

    for metric, value in record["metrics"].items():
        add(metric, value, "quality")
    for metric, value in record.get("timings", {}).items():
        add(metric, value, "timing")
    for stage, costs in stage_costs(run_dir, record).items():  # train_evaluate: both stages in one job
        for name, value in costs.items():
            add(f"{stage}_{name}", value, "cost")
    for metric, values in record.get("samples", {}).items():
        for i, value in enumerate(values):
            add(metric, value, "quality", i)
    return rows


def collect(metrics_paths: list[Path]) -> pd.DataFrame:
    rows = [row for path in metrics_paths for row in run_rows(path)]
    return pd.DataFrame(rows).sort_values(ID_COLUMNS + ["metric", "sample"], ignore_index=True)
