"""Study ``optimizers``: the cost of training itself, measured as MLCommons AlgoPerf measures it.

Methods: Adam and Adam with a cosine schedule, each tuned over a learning-rate grid whose trials
are all charged; SAMUEL (Lu, Xia, Arora & Hazan, arXiv 2203.01400) with one Adam expert per grid
rate; NPACS (Pathak & Paffenroth, ICMLA 2019), continuation from a near-linear network; and the
ablation Adam from NPACS's PCA initialisation (autoencoders). PARC (arXiv 2507.22089) is left out
(README, Studies: its corrector's step sizes and multiplier schedule are not given in the paper).

Workloads (:mod:`.workloads`): the NPACS Fashion-MNIST autoencoder (its 16-layer variant at paper
scale), the baselines CNN on Fashion-MNIST, an MLP on UCI Adult. Each workload's validation target
is the median over the seeds of tuned Adam's final validation metric (:func:`.algoperf.target`).

Tables: ``optimizers_time_to_target`` (steps, counted GFLOPs and CPU seconds to the target, and
with the tuning trials included), ``optimizers_final`` (final train, validation and test metrics),
``optimizers_shift`` (SAMUEL's online test), ``optimizers_profile`` (AlgoPerf's performance profiles
and score) and ``optimizers_curves`` (validation curves of the tuned runs).
"""

from __future__ import annotations

import math

from methods.core.claims import Claim, Paired, Side
from methods.core.study import FigureSpec, Resources, Run, RunContext, Study, TableSpec, rows_from_metric_paths

from .jobs import methods_of, settings
from .workloads import DATASET

TIME, FINAL, SHIFT, PROFILE, CURVES = ("optimizers_time_to_target", "optimizers_final", "optimizers_shift",
                                       "optimizers_profile", "optimizers_curves")
_LRS = [1e-3, 3e-3, 1e-2]  # a geometric grid spanning 10x from Adam's default 1e-3 (3e-3 was best at laptop scale)
_ETAS = [1.0, 10.0, 100.0]  # multiplicative-weights rates (ours: the paper gives no values)
# example.json at 23cc4a9 (l_init 0.2, delta_l 0.01, delta_l_prev 0.02, lr 1e-3); secant "code": the
# ratio npcs.py applies (see trainer.run_npacs)
_NPACS = {"lr": 1e-3, "l_init": 0.2, "delta_l": 0.01, "delta_l_prev": 0.02, "secant": "code"}


def _npacs(u_freq: int) -> dict:
    """example.json's schedule in units of its corrector length u_freq = 10: window 100, start 200
    (u_freq = 10 is the code's own schedule)."""
    return {**_NPACS, "u_freq": u_freq, "window": 10 * u_freq, "adaptive_start": 20 * u_freq}


# Laptop budget of the autoencoder (the NPACS claim's workload), sized for the code's homotopy at the
# code's own schedule (u_freq 10): from lambda 0.2 it needs 80 updates = 800 steps at the initial
# dlambda 0.01 (400 at the largest, 0.02); 2000 steps = 2.5x that, the rest trains the original network
# (npcs.py: one budget, the homotopy then lambda = 1). example.json's 5000 steps do not fit the laptop
# time. Every method gets the same 2000 steps. The classifiers keep their compressed schedules: there
# the homotopy stalls on the 0.25 ceiling (cross-entropy norms, see continuation), whatever the budget.
_AE_LAPTOP_STEPS = 2000


def _workload(steps: int, batch: int, every: int, n_train: int, n_val: int, n_test: int, u_freq: int, **extra):
    return {"budget": {"steps": steps, "batch": batch, "eval_every": every}, "n_train": n_train, "n_val": n_val,
            "n_test": n_test, "lrs": _LRS, "mw_etas": _ETAS, "hedge_every": max(1, steps // 40),
            "npacs": _npacs(u_freq), "pca_rows": min(n_train, 10000), **extra}


_SCALES = {
    "smoke": {
        "fmnist_ae": _workload(30, 32, 10, 1000, 200, 200, 2, shift=False),
        "fmnist_cnn": _workload(30, 32, 10, 1000, 200, 200, 2, widths=[8, 16], shift=True),
        "adult_mlp": _workload(30, 32, 10, 1000, 200, 200, 2, hidden=[32], shift=True),
    },
    "laptop": {
        "fmnist_ae": _workload(_AE_LAPTOP_STEPS, 200, 50, 50000, 2000, 2000, 10, shift=False),
        "fmnist_cnn": _workload(200, 32, 20, 50000, 1000, 2000, 2, widths=[8, 16], shift=True),
        "adult_mlp": _workload(400, 128, 20, 30000, 2000, 5000, 4, hidden=[64, 64], shift=True),
    },
    "paper": {  # the NPACS paper's budgets (example.json: batch 200; up to 200k steps)
        "fmnist_ae": _workload(200000, 200, 1000, 50000, 10000, 10000, 10, shift=False),
        "fmnist_ae_deep": _workload(200000, 200, 1000, 50000, 10000, 10000, 10, shift=False),
        "fmnist_cnn": _workload(20000, 128, 500, 50000, 10000, 10000, 10, widths=[32, 64], shift=True),
        "adult_mlp": _workload(20000, 128, 500, 30000, 5000, 13842, 10, hidden=[64, 64], shift=True),
    },
}
_RESOURCES = {"smoke": Resources(threads=1, mem_mb=1500, runtime=5),
              "laptop": Resources(threads=1, mem_mb=2500, runtime=20),
              "paper": Resources(threads=4, mem_mb=8000, runtime=2880)}
_SCORE = Resources(threads=1, mem_mb=2000, runtime=10)
_WHO = "Adam and Adam-cosine: best of the grid by final validation metric"


class OptimizersStudy(Study):
    name = "optimizers"
    title = "Training cost to a target (AlgoPerf methodology): tuned Adam, SAMUEL, NPACS"
    citation = ("Dahl et al., Benchmarking Neural Network Training Algorithms, arXiv 2306.07179, 2023; "
                "Lu, Xia, Arora & Hazan, arXiv 2203.01400; Pathak & Paffenroth, ICMLA 2019")
    seeds = {"smoke": 1, "laptop": 5, "paper": 5}
    # evaluation reads the JSON training wrote; paper-scale trainings (up to 48 h) keep their own job
    evaluate_in_training = ("smoke", "laptop")
    tables = (
        TableSpec(
            name=TIME, title="Time to the validation target (AlgoPerf): steps, counted GFLOPs, CPU seconds",
            metrics={"reached": "Seeds reaching target", "step": "Steps", "gflops": "GFLOPs", "cpu_s": "CPU s",
                     "tuned_gflops": "GFLOPs incl. tuning", "tuned_cpu_s": "CPU s incl. tuning"},
            methods=("score",), decimals={"reached": 2, "step": 0, "gflops": 2, "cpu_s": 2, "tuned_gflops": 2,
                                          "tuned_cpu_s": 2},
            figures=(FigureSpec("cost-to-target", kind="points", y=("gflops", "tuned_gflops"),
                                y_title="GFLOPs to the target", y_range=(0, math.inf), secondary=("reached",),
                                secondary_title="Seeds reaching target", secondary_range=(0, 1),
                                title="GFLOPs to the validation target, fastest trial and with its tuning "
                                      "(over the seeds that reach it)"),),
            caption="Target: median over seeds of tuned Adam's final validation metric (MSE or error), fixed per "
                    "workload and scale. Grid methods: the fastest trial; 'incl. tuning' sums every trial's cost "
                    "until it meets the target (its whole run if it never does). SAMUEL: one run, k experts' "
                    "FLOPs per step. A run that never meets the target is failed (infinite): it is left out of "
                    "the mean, and 'Seeds reaching target' says how many were left. NPACS counts only once λ = 1 (the "
                    "workload's own network; AlgoPerf fixes the model). CPU s: process time of the "
                    "training steps, one thread, evaluation excluded.",
        ),
        TableSpec(
            name=FINAL, title="Final metrics after the step budget",
            metrics={"train": "Train metric", "val": "Validation metric", "test": "Test metric",
                     "target": "Target", "final_lambda": "Final λ", "at_one": "Seeds at λ = 1"},
            methods=("score",), decimals={"train": 4, "val": 4, "test": 4, "target": 4, "final_lambda": 3,
                                          "at_one": 2},
            figures=(FigureSpec("final-metrics", kind="points", y=("train", "val", "test"),
                                y_title="MSE per pixel or error rate (lower is better)", y_range=(0, math.inf),
                                title="Final metrics after the step budget (NPACS only where it reached λ = 1)"),),
            caption=f"Metric: MSE per pixel (autoencoders) or error rate (classifiers); lower is better. {_WHO}. "
                    "Train metric: on the first training rows (as many as the validation rows). NPACS: λ at the "
                    "end (1 = the original network) and the fraction of seeds whose homotopy reached λ = 1; its "
                    "metrics count only those seeds (a network at λ < 1 is not the workload's), so a cell is — "
                    "when no seed got there, and the NPACS claim pairs only seeds at λ = 1. On the classifiers "
                    "(cross-entropy) the code's fixed 0.25 gradient-norm ceiling, set on its mean-squared-error "
                    "losses, is exceeded within every window, so dλ keeps halving and the homotopy stalls "
                    "(Pathak & Paffenroth's code has no cross-entropy network to take a ceiling from).",
        ),
        TableSpec(
            name=SHIFT, title="Online shift: every label permuted halfway, steps to meet the target again",
            metrics={"recovered": "Seeds recovering", "recovery_steps": "Steps to recover", "final_val": "Final val.",
                     "target": "Shift target"},
            methods=("score",), decimals={"recovered": 2, "recovery_steps": 0, "final_val": 4, "target": 4},
            figures=(FigureSpec("recovery", kind="points", y="recovery_steps", y_range=(0, math.inf),
                                secondary=("final_val",), secondary_title="Final val.",
                                title="Labels permuted halfway: steps to recover (the steps left if never: a lower "
                                      "bound) and final validation metric"),),
            caption="Classifier workloads. Adam and Adam-cosine at the seed's tuned rate; the cosine schedule is "
                    "half annealed when the shift comes. Shift target: the validation metric tuned Adam reaches "
                    "from scratch in as many steps as the shifted half has (median over seeds of the unshifted "
                    "tuned runs at the shift step), one value per workload for every method: recovering means "
                    "adapting to the new labels no worse than restarting would. (The full-budget target asked the "
                    "shifted half to match a whole training; a target relative to each run's own pre-shift metric "
                    "would give a method that was worse before the shift an easier target and needs a free "
                    "tolerance.) A run that never meets it counts the steps left after the shift (a lower bound).",
        ),
        TableSpec(
            name=PROFILE, title="AlgoPerf performance profiles over the workloads (GFLOPs incl. tuning)",
            metrics={"rho": "ρ(τ)", "score": "Score B (r_max = 4)"}, methods=("score",),
            decimals={"rho": 2, "score": 3},
            figures=(FigureSpec("profile", x="setting", y="rho", settings=r"^tau(?P<x>[0-9.]+)$", x_title="τ",
                                y_range=(0, 1), facet=None, title="Performance profiles, GFLOPs incl. tuning"),),
            caption="Per seed, the methods run on every workload (not the PCA ablation); a failed workload never "
                    "counts. Mean over seeds.",
        ),
        TableSpec(
            name=CURVES, title="Validation curves of the tuned runs", metrics={"val": "Validation metric"},
            methods=("score",), decimals={"val": 4},
            figures=(FigureSpec("curves", x="setting", y="val", settings=r"^step(?P<x>[0-9]+)$", x_title="step",
                                title="Validation metric against steps (tuned trial per method)"),),
        ),
    )

    def _params(self, scale: str) -> dict:
        return _SCALES[scale]

    def grid(self, scale: str, seeds: int) -> list[Run]:
        params = self._params(scale)
        trains = [Run(self.name, w, "train", "all", seed, params=p, resources=_RESOURCES[scale],
                      eval_resources=Resources(runtime=5), data=(DATASET[w],))
                  for w, p in params.items() for seed in range(seeds)]
        needs = tuple(r.run_id for r in trains)
        return trains + [Run(self.name, "fashion_mnist", "score", "all", seed, params={"workloads": params},
                             resources=_SCORE, eval_resources=_SCORE, needs=needs) for seed in range(seeds)]

    def train(self, ctx: RunContext) -> dict:
        from methods.core.atomic import write_json

        run = ctx.run
        if run.method == "train":
            from .jobs import train_workload

            out = train_workload(run.dataset, ctx.data[DATASET[run.dataset]], dict(run.params), run.seed, ctx.log)
            write_json(ctx.run_dir / "runs.json", out)
            return {"methods": len(out)}
        from .jobs import score

        files: dict[str, list] = {}
        for need in run.needs:  # in seed order (see grid)
            files.setdefault(need.split("/")[1], []).append(ctx.needs[need] / "runs.json")
        write_json(ctx.run_dir / "score.json", score(files, dict(run.params["workloads"]), run.seed))
        return {"workloads": len(files)}

    def evaluate(self, ctx: RunContext) -> dict:
        import json

        if ctx.run.method == "train":
            return {"metrics": {"methods": float(len(json.loads((ctx.run_dir / "runs.json").read_text())))}}
        return json.loads((ctx.run_dir / "score.json").read_text())

    def table_runs(self, spec: TableSpec, runs):
        """``<table>/<workload>/<method>/<setting>/<metric>`` metrics of score runs -> rows of ``spec``."""
        prefix = {TIME: "time/", FINAL: "final/", SHIFT: "shift/", PROFILE: "profile/", CURVES: "curve/"}[spec.name]
        return rows_from_metric_paths(runs, "score", prefix)

    def table_rows(self, spec: TableSpec, runs: list[Run]) -> set[tuple[str, str, str]]:
        from .jobs import PROFILED, SHIFT_METHODS, TAUS

        rows = set()
        for run in (r for r in runs if r.method == "score"):
            for workload, params in run.params["workloads"].items():
                names = settings(params)
                if spec.name in (TIME, FINAL):
                    rows |= {(workload, m, names[m]) for m in methods_of(workload)}
                elif spec.name == SHIFT and params["shift"]:
                    rows |= {(workload, m, "shift") for m in SHIFT_METHODS}
                elif spec.name == CURVES:
                    rows |= {(workload, m, f"step{s:06d}") for m in methods_of(workload)
                             for s in _eval_steps(params["budget"])}
            if spec.name == PROFILE:
                rows |= {("all", m, f"tau{t:.2f}") for m in PROFILED for t in TAUS} | {("all", m, "score")
                                                                                        for m in PROFILED}
        return rows


def _eval_steps(budget: dict) -> list[int]:
    """The steps at which :func:`.trainer._loop` evaluates."""
    steps, every = budget["steps"], budget["eval_every"]
    return sorted(set(range(every, steps + 1, every)) | {steps})


STUDY = OptimizersStudy()

_SAMUEL = "Lu, Xia, Arora & Hazan, Adaptive Gradient Methods with Local Guarantees, arXiv 2203.01400"
_NPACS_PAPER = "Pathak & Paffenroth, Parameter Continuation Methods for the Optimization of DNNs, ICMLA 2019"
_CLASSIFIERS = ("fmnist_cnn", "adult_mlp")
CLAIMS = (
    Claim("samuel-no-more-cost-than-tuned-adam", _SAMUEL, "abstract; Section 6.1",
          "SAMUEL reaches the target at no more total cost than tuned Adam, tuning included.",
          TIME, "tuned_gflops", ("fmnist_ae", "fmnist_cnn", "adult_mlp"),
          (Paired(Side("samuel", "k3"), Side("adam", "grid3"), better="lower", margin=1.0, scale="ratio",
                  margin_reason="Adam's GFLOPs (tuning included) over SAMUEL's above 1; seeds where either "
                                "never reaches the target are left out"),
           Paired(Side("samuel", "k3", "reached"), Side("adam", "grid3", "reached"), margin=-0.2,
                  margin_reason="reaching the target in no fewer seeds (one seed of five = 0.2)"))),
    Claim("samuel-recovers-from-shift", _SAMUEL, "abstract; Section 6.2",
          "After a distribution shift SAMUEL meets the target again in fewer steps than a fixed schedule.",
          SHIFT, "recovery_steps", _CLASSIFIERS,
          (Paired(Side("samuel", "shift"), Side("adam-cosine", "shift"), better="lower",
                  margin_reason="the claim states a direction; a run that never recovers counts the steps left"),
           Paired(Side("samuel", "shift", "final_val"), Side("adam-cosine", "shift", "final_val"), better="lower",
                  margin_reason="the claim states a direction: the metric at the end of the shifted half"))),
    Claim("npacs-lower-loss-than-adam", _NPACS_PAPER, "abstract; Section IV",
          "At equal steps NPACS reaches lower train and test loss than Adam on the autoencoder.",
          FINAL, "test", ("fmnist_ae",),
          (Paired(Side("npacs", "lr0.001", "train"), Side("adam", "grid3", "train"), better="lower"),
           Paired(Side("npacs", "lr0.001"), Side("adam", "grid3"), better="lower"))),
)
