"""One training run of each method, measured as AlgoPerf measures a submission (Dahl et al.,
"Benchmarking Neural Network Training Algorithms", arXiv 2306.07179, Section 4): every
``eval_every`` steps the validation metric is recorded with the steps, counted FLOPs and CPU
process seconds spent training so far (evaluation time excluded, as AlgoPerf excludes it).

All methods of a seed draw the same minibatch sequence (a generator seeded by the seed alone), so
their differences are the optimizer's. ``shift_at``: after that many steps every label is
permuted (the online test of SAMUEL's Section 6.2: a distribution shift the schedule did not see).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from . import continuation, workloads
from .models import set_lambda
from .samuel import Hedge


def _permuted(data: workloads.Data, seed: int) -> workloads.Data:
    """The same inputs with labels mapped by a seeded permutation without fixed points."""
    rng = np.random.default_rng([seed, 11])
    cycle = rng.permutation(data.classes)  # class cycle[i] becomes cycle[i + 1]: no class keeps its label
    order = torch.empty(data.classes, dtype=torch.int64)
    order[torch.from_numpy(cycle)] = torch.from_numpy(np.roll(cycle, -1))
    return workloads.Data(data.x_train, order[data.y_train], data.x_val, order[data.y_val], data.x_test,
                          order[data.y_test], data.classes)


def cosine_lr(lr: float, step: int, steps: int) -> float:
    """Cosine decay to zero over the run (Loshchilov & Hutter, ICLR 2017, Eq. 5 without restarts)."""
    return 0.5 * lr * (1.0 + math.cos(math.pi * step / steps))


def _loop(data, budget: dict, seed: int, step_fn, eval_model, flops_per_step: float, shift_at: int | None = None):
    rng = np.random.default_rng([seed, 3])
    curve, cpu, recent = [], 0.0, []
    steps, every, batch = budget["steps"], budget["eval_every"], budget["batch"]
    for step in range(1, steps + 1):
        if shift_at is not None and step == shift_at + 1:
            data = _permuted(data, seed)
        index = torch.from_numpy(rng.integers(0, len(data.x_train), batch))
        start = time.process_time()
        recent.append(step_fn(data.x_train[index], data.y_train[index], step))
        cpu += time.process_time() - start
        if step % every == 0 or step == steps:
            model = eval_model()
            curve.append({"step": step, "gflops": step * flops_per_step / 1e9, "cpu_s": cpu,
                          "val": workloads.metric(model, data.x_val, data.y_val, data.classes),
                          "train_loss": float(np.mean(recent))})
            recent = []
    model = eval_model()
    n = min(len(data.x_train), len(data.x_val))
    train_metric = workloads.metric(model, data.x_train[:n], data.y_train[:n], data.classes)
    return {"curve": curve, "final_val": curve[-1]["val"], "final_train": train_metric,
            "final_test": workloads.metric(model, data.x_test, data.y_test, data.classes)}


def _adam_step(model, optimizer, loss_fn):
    def step(x, y):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def run_adam(make_model, data, lr: float, budget: dict, seed: int, schedule: str = "constant",
             shift_at: int | None = None, pca: list[np.ndarray] | None = None) -> dict:
    """Adam (Kingma & Ba, ICLR 2015, Algorithm 1) at ``lr``, constant or cosine-decayed; ``pca``:
    start from these NPACS PCA weights (the ablation row)."""
    model = make_model()
    if pca is not None:
        model.pca_init(pca)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    inner = _adam_step(model, optimizer, workloads.loss_fn(data))

    def step(x, y, t):
        if schedule == "cosine":
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(lr, t - 1, budget["steps"])
        return inner(x, y)

    flops = workloads.train_step_flops(model, data.x_train[: budget["batch"]])
    return {"lr": lr, **_loop(data, budget, seed, step, lambda: model, flops, shift_at)}


def run_samuel(make_model, data, lrs, mw_etas, hedge_every: int, budget: dict, seed: int,
               shift_at: int | None = None) -> dict:
    """SAMUEL (arXiv 2203.01400, Algorithm 2 in its practical form): k Adam experts, one per
    learning rate, each with its own model copy and optimizer state, all from the same start; every
    ``hedge_every`` steps the experts' mean minibatch losses over the round update the
    multiplicative weights (:class:`.samuel.Hedge`) and every copy takes the drawn expert's
    parameters (optimizer states stay the experts' own). One step costs k experts' steps."""
    first = make_model()
    experts = [first] + [make_model() for _ in lrs[1:]]
    for model in experts[1:]:
        model.load_state_dict(first.state_dict())
    steppers = [_adam_step(m, torch.optim.Adam(m.parameters(), lr=lr, fused=True), workloads.loss_fn(data))
                for m, lr in zip(experts, lrs)]
    hedge = Hedge(mw_etas, len(lrs), seed)
    round_losses: list[list[float]] = []
    picks: list[int] = []

    def step(x, y, t):
        losses = [s(x, y) for s in steppers]
        round_losses.append(losses)
        if t % hedge_every == 0:
            current = hedge.round(np.mean(round_losses, axis=0))
            round_losses.clear()
            picks.append(current)
            state = experts[current].state_dict()
            for i, model in enumerate(experts):
                if i != current:
                    model.load_state_dict(state)
        return losses[hedge.current]

    flops = len(lrs) * workloads.train_step_flops(first, data.x_train[: budget["batch"]])
    result = _loop(data, budget, seed, step, lambda: experts[hedge.current], flops, shift_at)
    return {"lrs": list(lrs), "picks": np.bincount(picks, minlength=len(lrs)).tolist(), **result}


def run_npacs(make_model, data, lr: float, budget: dict, seed: int, params: dict,
              pca: list[np.ndarray] | None = None) -> dict:
    """NPACS (ICMLA 2019, Section III; harsh306/NPACS at 23cc4a9, ``npcs.py`` ``main``): Adam as the
    corrector at fixed lambda for ``u_freq`` steps, then lambda <- min(1, lambda + dlambda) with the
    secant predictor (:func:`.continuation.secant_predict`) and the adaptive dlambda
    (:func:`.continuation.adaptive_step`, on :func:`.continuation.grad_norm`) once two windows of
    gradient norms exist; the first update is a natural (no secant) step, as in the code. Once
    lambda = 1 the same Adam trains the original network for the rest of the one budget, as the
    code's loop does; the budget is every method's (the step count is the same for Adam).

    Two details of ``npcs.py`` are not copied: after each secant step the code evaluates the
    gradient norm at the predicted point once more (appended to the norms, counted as a step), so
    it takes u_freq - 1 Adam steps per lambda update; here every counted step is an Adam step."""
    model = make_model()
    if pca is not None:
        model.pca_init(pca)
    lam, dl, dl_prev = params["l_init"], params["delta_l"], params["delta_l_prev"]
    set_lambda(model, lam)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    loss_fn = workloads.loss_fn(data)
    vector = lambda: torch.nn.utils.parameters_to_vector(model.parameters()).detach().numpy().copy()  # noqa: E731
    state = {"prev": None, "lambdas": []}
    norms: list[float] = []
    u, window, rule = params["u_freq"], params["window"], continuation.StepRule()

    def step(x, y, t):
        nonlocal lam, dl, dl_prev
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        norms.append(continuation.grad_norm(model.parameters()))
        optimizer.step()
        if t % u == 0 and lam < 1.0:
            theta = vector()
            if state["prev"] is not None:
                dl_prev, dl = dl, (continuation.adaptive_step(dl, norms, window, rule)
                                   if t > params["adaptive_start"] else dl)
                ratio = (dl, dl_prev) if params["secant"] == "paper" else (params["delta_l"], params["delta_l_prev"])
                predicted = continuation.secant_predict(theta, state["prev"], *ratio)
                torch.nn.utils.vector_to_parameters(torch.from_numpy(predicted), model.parameters())
            state["prev"] = theta
            lam = min(1.0, lam + dl)
            set_lambda(model, lam)
            state["lambdas"].append((t, lam))
        return loss.item()

    flops = workloads.train_step_flops(model, data.x_train[: budget["batch"]])
    result = _loop(data, budget, seed, step, lambda: model, flops)
    start = params["l_init"]
    for point in result["curve"]:  # the lambda each evaluation saw: the workload's own network only at 1
        point["lam"] = max([value for t, value in state["lambdas"] if t <= point["step"]], default=start)
    reached = [t for t, value in state["lambdas"] if value >= 1.0]
    return {"lr": lr, "final_lambda": lam, "lambda_one_step": reached[0] if reached else None, **result}
