"""The study's two kinds of job.

``train`` (one per workload and seed) runs every method on the workload and writes their curves to
``runs.json``: Adam and Adam with a cosine schedule at every learning rate of the grid (the tuning
trials, all counted), SAMUEL with one expert per grid rate, NPACS, and on the autoencoders Adam
from NPACS's PCA initialisation (the ablation); on the classifiers, when the scale asks for it,
the shift runs: SAMUEL, and Adam constant and cosine at the seed's tuned rate, with every label
permuted halfway. One job per (workload, seed) keeps the process start-up out of the budget.

``score`` (one per seed) reads every workload's train runs of all seeds, fixes each workload's
target (:func:`.algoperf.target`) and reports this seed's rows of every table as
``<table>/<workload>/<method>/<setting>/<metric>``.
"""

from __future__ import annotations

import json
import math

import numpy as np

from . import algoperf
from .workloads import AUTOENCODER_WIDTHS

GRID_METHODS = ("adam", "adam-cosine")
PROFILED = ("adam", "adam-cosine", "samuel", "npacs")  # the methods run on every workload
SHIFT_METHODS = ("samuel", "adam", "adam-cosine")
TAUS = tuple(np.round(np.arange(1.0, algoperf.R_MAX + 1e-9, 0.25), 2))


def settings(params: dict) -> dict[str, str]:
    """The setting name of each method's rows at these parameters."""
    k = len(params["lrs"])
    return {"adam": f"grid{k}", "adam-cosine": f"grid{k}", "samuel": f"k{k}", "npacs": f"lr{params['npacs']['lr']:g}",
            "pca-adam": f"lr{params['npacs']['lr']:g}"}


def methods_of(workload: str) -> tuple[str, ...]:
    return PROFILED + (("pca-adam",) if workload in AUTOENCODER_WIDTHS else ())


def train_workload(workload: str, prepared, params: dict, seed: int, log) -> dict:
    """Every method's runs on ``workload`` at ``seed`` (see the module docstring)."""
    import torch

    from . import continuation, trainer, workloads

    data = workloads.load(workload, prepared, params)

    def make_model():
        torch.manual_seed(seed)
        return workloads.build(workload, data, params)

    budget, lrs = params["budget"], params["lrs"]
    pca = (continuation.pca_weights(data.x_train[: params["pca_rows"]].numpy(), AUTOENCODER_WIDTHS[workload])
           if workload in AUTOENCODER_WIDTHS else None)
    out = {}
    for schedule, method in (("constant", "adam"), ("cosine", "adam-cosine")):
        out[method] = [trainer.run_adam(make_model, data, lr, budget, seed, schedule) for lr in lrs]
        log.info("%s %s: final val %s", workload, method, [round(t["final_val"], 4) for t in out[method]])
    out["samuel"] = trainer.run_samuel(make_model, data, lrs, params["mw_etas"], params["hedge_every"], budget, seed)
    out["npacs"] = trainer.run_npacs(make_model, data, params["npacs"]["lr"], budget, seed, params["npacs"], pca)
    if pca is not None:
        out["pca-adam"] = trainer.run_adam(make_model, data, params["npacs"]["lr"], budget, seed, pca=pca)
    if params["shift"] and data.classes:
        half = budget["steps"] // 2
        out["shift"] = {
            "samuel": trainer.run_samuel(make_model, data, lrs, params["mw_etas"], params["hedge_every"], budget,
                                         seed, shift_at=half),
            **{method: trainer.run_adam(make_model, data, algoperf.tuned(out[method])["lr"], budget, seed,
                                        schedule, shift_at=half)
               for schedule, method in (("constant", "adam"), ("cosine", "adam-cosine"))},
        }
    return out


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _time_rows(method: str, runs, goal: float) -> dict[str, float]:
    """Time to target of one method at one seed; grid methods: fastest trial, tuning in ``tuned_*``."""
    trials = runs if method in GRID_METHODS else [runs]
    row = {key: algoperf.grid_time(trials, goal, key) for key in ("step", "gflops", "cpu_s")}
    row.update({f"tuned_{key}": algoperf.grid_cost(trials, goal, key) for key in ("gflops", "cpu_s")})
    row["reached"] = float(math.isfinite(row["step"]))
    return row


def _recovery(run: dict, goal: float, shift_at: int) -> tuple[float, bool]:
    """Steps after the shift until the validation metric meets ``goal`` (the shift target, see
    :func:`score`), and whether it did; a run that never does is censored at the steps left after
    the shift (a lower bound)."""
    after = [p for p in run["curve"] if p["step"] > shift_at]
    steps = algoperf.reach(after, goal, "step") - shift_at
    return (steps, True) if math.isfinite(steps) else (float(run["curve"][-1]["step"] - shift_at), False)


def score(train_files: dict[str, list], params_of: dict[str, dict], seed: int) -> dict:
    """metrics.json of a score run: ``train_files[workload]`` are the runs.json of every seed, in
    seed order; this run reports seed ``seed``."""
    metrics: dict[str, float | None] = {}
    times: dict[str, dict[str, float]] = {m: {} for m in PROFILED}
    for workload, files in sorted(train_files.items()):
        seeds = [json.loads(f.read_text()) for f in files]
        goal = algoperf.target([runs["adam"] for runs in seeds])
        runs, names, params = seeds[seed], settings(params_of[workload]), params_of[workload]
        for method in methods_of(workload):
            setting = f"{workload}/{method}/{names[method]}"
            for key, value in _time_rows(method, runs[method], goal).items():
                metrics[f"time/{setting}/{key}"] = _finite(value)
            final = algoperf.tuned(runs[method]) if method in GRID_METHODS else runs[method]
            metrics.update({f"final/{setting}/{key}": final[f"final_{key}"] for key in ("val", "test", "train")})
            metrics[f"final/{setting}/target"] = goal
            if method == "npacs":  # AlgoPerf fixes the model: only a homotopy that reached lambda = 1 counts
                metrics[f"final/{setting}/final_lambda"] = final["final_lambda"]
                metrics[f"final/{setting}/at_one"] = float(final["final_lambda"] >= 1.0)
                if final["final_lambda"] < 1.0:
                    metrics.update({f"final/{setting}/{key}": None for key in ("val", "test", "train")})
            for point in final["curve"]:
                metrics[f"curve/{workload}/{method}/step{point['step']:06d}/val"] = point["val"]
            if method in PROFILED:
                times[method][workload] = _time_rows(method, runs[method], goal)["tuned_gflops"]
        half = params["budget"]["steps"] // 2
        # shift target: the level tuned Adam reaches from scratch in as many steps as the shifted half
        # has (median over seeds, unshifted runs): recovering = adapting no worse than restarting
        shift_goal = algoperf.target_at([runs_["adam"] for runs_ in seeds], half) if runs.get("shift") else None
        for method, run in runs.get("shift", {}).items():
            steps, recovered = _recovery(run, shift_goal, half)
            metrics[f"shift/{workload}/{method}/shift/target"] = shift_goal
            metrics[f"shift/{workload}/{method}/shift/recovery_steps"] = steps
            metrics[f"shift/{workload}/{method}/shift/recovered"] = float(recovered)
            metrics[f"shift/{workload}/{method}/shift/final_val"] = run["final_val"]
    for method, rho in algoperf.profile(times, np.array(TAUS)).items():
        metrics.update({f"profile/all/{method}/tau{tau:.2f}/rho": float(r) for tau, r in zip(TAUS, rho)})
    for method, value in algoperf.score(times).items():
        metrics[f"profile/all/{method}/score/score"] = value
    return {"metrics": metrics}
