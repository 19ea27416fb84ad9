"""NPACS as harsh306/NPACS at 23cc4a9 runs it: the gradient norm its step rule reads (``tf.global_norm``
of a mean loss), the centred autoencoder data (``ae.py`` ``master_graph``), the homotopy that ends at
lambda = 1 and then trains the original network (``npcs.py``), and the scoring of a run that never
got there; plus the shift target (the tuned Adam level at the shift step)."""

import json
import logging
import math

import numpy as np
import pytest
import torch

from methods.optimizers import algoperf, continuation, jobs, trainer, workloads
from methods.optimizers.study import _SCALES


def test_grad_norm_is_the_global_norm_of_a_mean_loss_whatever_the_batch():
    # y = w.x + b with w = (1, 2), b = 0 on x = (1, 1), target 0: out 3, loss 9, dloss/dout 6,
    # grads (6, 6) and 6, global norm sqrt(3 * 36) = sqrt(108); a batch of two equal rows: the same mean
    for rows in (1, 2):
        layer = torch.nn.Linear(2, 1)
        with torch.no_grad():
            layer.weight.copy_(torch.tensor([[1.0, 2.0]]))
            layer.bias.zero_()
        torch.nn.functional.mse_loss(layer(torch.ones(rows, 2)), torch.zeros(rows, 1)).backward()
        assert continuation.grad_norm(layer.parameters()) == pytest.approx(math.sqrt(108))


def test_autoencoder_pixels_are_centred_by_the_training_mean(monkeypatch):
    x = np.zeros((6, 2, 2), np.uint8)
    x[:4] = 255  # training rows: pixel 1.0; the last two (validation) rows stay 0
    x_test = np.full((2, 2, 2), 51, np.uint8)  # 0.2
    arrays = {"x_train": x, "y_train": np.zeros(6), "x_test": x_test, "y_test": np.zeros(2)}
    monkeypatch.setattr("methods.data.formats.load_arrays", lambda path: arrays)
    data = workloads.load("fmnist_ae", None, {"n_train": 4, "n_val": 2, "n_test": 2})
    assert torch.allclose(data.x_train, torch.zeros(4, 4))
    assert torch.allclose(data.x_val, torch.full((2, 4), -1.0)) and torch.equal(data.y_val, data.x_val)
    assert torch.allclose(data.x_test, torch.full((2, 4), -0.8))


def _ae_data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.normal(size=(n, 6)).astype(np.float32))
    return workloads.Data(x[:80], x[:80], x[80:100], x[80:100], x[100:], x[100:], 0)


def _npacs(data, steps, delta):
    params = {"lr": 1e-2, "l_init": 0.2, "delta_l": delta, "delta_l_prev": delta, "secant": "code",
              "u_freq": 2, "window": 100, "adaptive_start": 1000}  # no adaptation: hand-computable lambdas
    from methods.optimizers.models import HomotopyAutoencoder

    make = lambda: (torch.manual_seed(0), HomotopyAutoencoder(6, (4, 2), "sigmoid"))[1]  # noqa: E731
    return trainer.run_npacs(make, data, 1e-2, {"steps": steps, "batch": 16, "eval_every": 2}, 0, params)


def test_homotopy_reaches_one_then_trains_the_original_network():
    data = _ae_data()
    run = _npacs(data, 12, 0.4)  # lambda 0.2 -> 0.6 (step 2) -> 1.0 (step 4, clipped), then 8 Adam steps
    assert run["final_lambda"] == 1.0 and run["lambda_one_step"] == 4
    assert [p["lam"] for p in run["curve"]] == pytest.approx([0.6, 1.0, 1.0, 1.0, 1.0, 1.0])
    assert len({round(p["val"], 7) for p in run["curve"][1:]}) > 1  # training goes on at lambda = 1


def test_a_budget_that_ends_before_one_leaves_lambda_there_and_its_metrics_out():
    data = _ae_data()
    run = _npacs(data, 4, 0.1)  # 0.2 -> 0.3 -> 0.4: the budget ends first, nothing else happens
    assert run["final_lambda"] == pytest.approx(0.4) and run["lambda_one_step"] is None
    adam = [{"final_val": 0.5, "final_test": 0.5, "final_train": 0.5,
             "curve": [{"step": s, "gflops": 1.0 * s, "cpu_s": 0.1 * s, "val": v} for s, v in ((2, 0.6), (4, 0.5))]}]
    seed = {"adam": adam, "adam-cosine": adam, "samuel": adam[0], "npacs": run, "pca-adam": adam[0]}
    params = {**_SCALES["smoke"]["fmnist_ae"], "budget": {"steps": 4, "batch": 16, "eval_every": 2}}

    class File:
        def read_text(self):
            return json.dumps(seed)

    metrics = jobs.score({"fmnist_ae": [File()]}, {"fmnist_ae": params}, 0)["metrics"]
    row = "final/fmnist_ae/npacs/lr0.001"
    assert metrics[f"{row}/at_one"] == 0.0 and metrics[f"{row}/final_lambda"] == pytest.approx(0.4)
    assert metrics[f"{row}/test"] is None and metrics[f"{row}/train"] is None and metrics[f"{row}/val"] is None
    assert math.isinf(algoperf.reach(run["curve"], 1e9, "step"))  # never on the workload's network


def test_laptop_autoencoder_budget_holds_the_codes_homotopy():
    params = _SCALES["laptop"]["fmnist_ae"]
    npacs = params["npacs"]
    assert (npacs["u_freq"], npacs["window"], npacs["adaptive_start"], npacs["l_init"]) == (10, 100, 200, 0.2)
    nominal = (1.0 - npacs["l_init"]) / npacs["delta_l"] * npacs["u_freq"]  # 800 steps at dlambda 0.01
    assert params["budget"]["steps"] >= 2 * nominal


def test_shift_target_is_the_tuned_adam_level_at_the_shift_step():
    def grid(vals_a, vals_b):  # two trials; the tuned one has the lower final value
        return [{"final_val": vals[-1], "curve": [{"step": 10 * (i + 1), "val": v} for i, v in enumerate(vals)]}
                for vals in (vals_a, vals_b)]

    seeds = [grid([0.9, 0.5, 0.3, 0.2], [0.8, 0.7, 0.6, 0.5]), grid([0.8, 0.6, 0.4, 0.3], [0.9, 0.9, 0.9, 0.9]),
             grid([0.7, 0.4, 0.3, 0.3], [0.9, 0.9, 0.9, 0.4])]
    assert algoperf.target_at(seeds, 20) == pytest.approx(0.5)  # median of 0.5, 0.6, 0.4
    assert algoperf.target_at(seeds, 25) == pytest.approx(0.5)  # the last evaluation at or before the step
    assert algoperf.target(seeds) == pytest.approx(0.3)


def test_shift_rows_carry_their_target(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    t = torch.from_numpy
    data = workloads.Data(t(x[:200]), t(y[:200]), t(x[200:250]), t(y[200:250]), t(x[250:]), t(y[250:]), 2)
    monkeypatch.setattr(workloads, "load", lambda workload, prepared, params: data)
    params = json.loads(json.dumps(_SCALES["smoke"]["adult_mlp"]))
    params["budget"] = {"steps": 8, "batch": 16, "eval_every": 2}
    out = jobs.train_workload("adult_mlp", None, params, 0, logging.getLogger("test"))
    (tmp_path / "s.json").write_text(json.dumps(out))
    metrics = jobs.score({"adult_mlp": [tmp_path / "s.json"]}, {"adult_mlp": params}, 0)["metrics"]
    expected = [p["val"] for p in algoperf.tuned(out["adam"])["curve"] if p["step"] <= 4][-1]
    assert metrics["shift/adult_mlp/samuel/shift/target"] == pytest.approx(expected)
