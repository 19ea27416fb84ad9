"""LSQ against plain QAT at 2 bits as the fine-tuning grows, paired over seeds (issue 17).

    python benchmarks/lsq_schedule.py --workdir WORKFLOW_RUN [--scratch DIR] [--recipes NAME ...]
                                      [--settings w2a2-channel ...] [--seeds 5] [--out JSON]

Re-runs the Fashion-MNIST ``qat`` and ``lsq`` runs of a finished laptop workflow run (``effrepro
train-evaluate``, one thread, two runs at once, from the run's own ``cnn_fc`` baselines and prepared
data) with the settings given (default W2A2, the setting of the claim ``lsq-2bit-at-least-qat``) under
each recipe below: the laptop's own (Adam 1e-4, one epoch of 5,120 images: 40 steps), longer ones, and
the LSQ paper's optimizer (SGD with momentum 0.9 and cosine decay without restarts, Esser et al. 2020,
Section 3). For each recipe and setting it reports both arms' mean accuracy, LSQ - QAT per seed with its
95% t interval and the claim's verdict (:func:`methods.core.verdict.paired`, margin -0.5), each arm
against the workflow run's own PTQ model of the setting (the rule a fine-tuning rate must meet: at
W8A8, a lossless setting, fine-tuning must not fall below PTQ), how far LSQ's
steps moved (``lsq_step_change`` of the runs' ``train.json``: mean and largest over quantizers and
seeds) and the runs' training CPU seconds. Runs go to ``SCRATCH/<settings>/<recipe>/<method>/seed<k>``; one
whose ``metrics.json`` is already there is read, not re-run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchkit import machine_record, train_evaluate_command

from methods.core.study import Run
from methods.quantization.tables import key

_SGD = {"optimizer": "sgd", "lr": 0.01, "schedule": "cosine", "weight_decay": 2.5e-5}
# name -> overrides of the laptop spec's params (batch 128, one epoch over ``examples`` images)
RECIPES = {
    "start_lr0": {"lr": 0.0, "examples": 128},  # one step at rate 0: the quantized models before fine-tuning
    "adam1e-4_40": {},
    "adam1e-4_120": {"examples": 15360},
    "adam1e-4_240": {"examples": 30720},
    "adam1e-4_full1ep": {"examples": None},
    "sgd1e-3_cos_40": {**_SGD, "lr": 0.001},
    "sgd1e-2_cos_40": _SGD,
    "sgd1e-2_cos_120": {**_SGD, "examples": 15360},
    "sgd1e-2_cos_240": {**_SGD, "examples": 30720},
    "sgd1e-2_cos_full1ep": {**_SGD, "examples": None},
    "sgd1e-2_cos_b32_160": {**_SGD, "batch_size": 32, "examples": 5120},
    "sgd1e-2_cos_b64_120": {**_SGD, "batch_size": 64, "examples": 7680},
    "sgd1e-2_cos_b32_240": {**_SGD, "batch_size": 32, "examples": 7680},
}
MARGIN = -0.5  # the claim's: methods/quantization/study.py, lsq-2bit-at-least-qat


def _finished(workdir: Path, method: str, seed: int) -> Path:
    """The workflow run's own Fashion-MNIST run of ``method`` for ``seed`` (its directory is the run id)."""
    return workdir / "results" / "laptop" / Run("quantization", "fashion_mnist", method, "all", seed).run_id


def _spec(workdir: Path, method: str, seed: int, recipe: dict, settings: list[str]) -> dict:
    spec = json.loads((_finished(workdir, method, seed) / "train.json").read_text())["spec"]
    spec["params"] = {**spec["params"], **recipe, "settings": settings}
    return spec


def _run(workdir: Path, spec: dict, run_dir: Path) -> None:
    if (run_dir / "metrics.json").exists():
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(train_evaluate_command(workdir, spec, run_dir), capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"{run_dir}: {result.stderr[-2000:]}")


def _read(run_dir: Path, method: str, setting: str) -> tuple[float, float, list[float]]:
    metrics = json.loads((run_dir / "metrics.json").read_text())["metrics"]
    train = json.loads((run_dir / "train.json").read_text())
    moved = train["summary"].get("lsq_step_change", {}).get(setting, {})
    return metrics[key("accuracy", method, setting)], train["cost"]["cpu_s"], list(moved.values())


def _ptq(workdir: Path, setting: str, seeds: range) -> list[float]:
    metrics = [json.loads((_finished(workdir, "ptq", s) / "metrics.json").read_text())["metrics"] for s in seeds]
    return [m[key("accuracy", "ptq", setting)] for m in metrics]


def summarize(scratch: Path, recipe: str, setting: str, seeds: range, ptq: list[float]) -> dict:
    from methods.core.stats import paired_difference
    from methods.core.verdict import paired

    rows = {m: [_read(scratch / recipe / m / f"seed{s}", m, setting) for s in seeds] for m in ("qat", "lsq")}
    qat, lsq = [r[0] for r in rows["qat"]], [r[0] for r in rows["lsq"]]
    outcome = paired(lsq, qat, "higher", MARGIN, "difference")
    over_ptq = {m: paired_difference(values, ptq) for m, values in (("qat", qat), ("lsq", lsq))}
    moved = [m for r in rows["lsq"] for m in r[2]]
    return {"recipe": recipe, "setting": setting, "params": RECIPES[recipe], "qat_mean": statistics.mean(qat),
            "lsq_mean": statistics.mean(lsq), "lsq_minus_qat": outcome.effect, "ci95": [outcome.low, outcome.high],
            "n": outcome.n, "verdict": outcome.verdict, "qat_per_seed": qat, "lsq_per_seed": lsq,
            "ptq_mean": statistics.mean(ptq),
            "minus_ptq": {m: {"mean": i.mean, "ci95": [i.low, i.high]} for m, i in over_ptq.items()},
            "lsq_step_change_mean": statistics.mean(moved), "lsq_step_change_max": max(moved),
            "train_cpu_s_per_run": {m: statistics.mean(r[1] for r in rows[m]) for m in rows}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True, help="a finished laptop workflow run")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/effrepro_lsq_schedule"))
    parser.add_argument("--recipes", nargs="*", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--settings", nargs="*", default=["w2a2-channel"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    seeds = range(args.seeds)
    scratch = args.scratch / "_".join(args.settings)
    jobs = [(args.workdir, _spec(args.workdir, m, s, RECIPES[r], args.settings), scratch / r / m / f"seed{s}")
            for r in args.recipes for s in seeds for m in ("qat", "lsq")]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda job: _run(*job), jobs))
    ptq = {setting: _ptq(args.workdir, setting, seeds) for setting in args.settings}
    rows = [summarize(scratch, r, setting, seeds, ptq[setting]) for r in args.recipes for setting in args.settings]
    for row in rows:
        low, high = row["ci95"]
        print(f"{row['recipe']:22s} {row['setting']:14s} qat {row['qat_mean']:6.2f} lsq {row['lsq_mean']:6.2f} "
              f"lsq-qat {row['lsq_minus_qat']:+.2f} [{low:+.2f}, {high:+.2f}] {row['verdict']:12s} "
              f"over ptq {row['ptq_mean']:.2f}: qat {row['minus_ptq']['qat']['mean']:+.2f} "
              f"lsq {row['minus_ptq']['lsq']['mean']:+.2f} "
              f"steps moved {row['lsq_step_change_mean']:.3f} (max {row['lsq_step_change_max']:.3f}) "
              f"train CPU s qat {row['train_cpu_s_per_run']['qat']:.1f} lsq {row['train_cpu_s_per_run']['lsq']:.1f}")
    if args.out:
        args.out.write_text(json.dumps({"machine": machine_record(1), "workdir": str(args.workdir),
                                        "margin": MARGIN, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
