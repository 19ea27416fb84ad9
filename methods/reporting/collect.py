"""Collect every run of a study into one tidy long table (one row per run x metric [x sample]).

Quality metrics and timings come from each run's ``metrics.json``; the cost columns come from
Snakemake's ``benchmark:`` files of the run's train and evaluate jobs, or of its one
``train_evaluate`` job (wall time, CPU time, peak resident memory). Provenance columns (commit,
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
    for stage in ("train", "evaluate", "train_evaluate"):  # train_evaluate: both stages in one job
        for name, value in _benchmark(run_dir / f"{stage}.benchmark.tsv").items():
            add(f"{stage}_{name}", value, "cost")
    for metric, values in record.get("samples", {}).items():
        for i, value in enumerate(values):
            add(metric, value, "quality", i)
    return rows


def collect(metrics_paths: list[Path]) -> pd.DataFrame:
    rows = [row for path in metrics_paths for row in run_rows(path)]
    return pd.DataFrame(rows).sort_values(ID_COLUMNS + ["metric", "sample"], ignore_index=True)
