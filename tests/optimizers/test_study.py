"""The optimizers study: its grid per scale, its rows, and one tiny real train-and-score pass."""

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from methods.optimizers import continuation, jobs, trainer, workloads
from methods.optimizers.study import _SCALES, CURVES, FINAL, PROFILE, SHIFT, STUDY, TIME


def test_grid_one_train_job_per_workload_and_seed_and_scores_needing_them_all():
    runs = STUDY.grid("laptop", 5)
    trains = [r for r in runs if r.method == "train"]
    scores = [r for r in runs if r.method == "score"]
    assert len(trains) == 15 and len(scores) == 5
    assert all(set(s.needs) == {t.run_id for t in trains} for s in scores)
    assert {r.dataset for r in STUDY.grid("paper", 5) if r.method == "train"} == set(_SCALES["paper"])


def test_rows_put_the_pca_ablation_on_autoencoders_and_the_shift_on_classifiers():
    runs = STUDY.grid("smoke", 1)
    time_rows = STUDY.table_rows(STUDY.table(TIME), runs)
    assert ("fmnist_ae", "pca-adam", "lr0.001") in time_rows
    assert not any(m == "pca-adam" for w, m, _ in time_rows if w != "fmnist_ae")
    assert {w for w, _, _ in STUDY.table_rows(STUDY.table(SHIFT), runs)} == {"fmnist_cnn", "adult_mlp"}
    assert ("all", "samuel", "score") in STUDY.table_rows(STUDY.table(PROFILE), runs)
    assert ("adult_mlp", "npacs", "step000030") in STUDY.table_rows(STUDY.table(CURVES), runs)
    assert STUDY.table_rows(STUDY.table(FINAL), runs) == time_rows


def test_label_shift_moves_every_class():
    y = torch.arange(10)
    data = workloads.Data(torch.zeros(10, 1), y, torch.zeros(10, 1), y, torch.zeros(10, 1), y, 10)
    shifted = trainer._permuted(data, seed=3)
    assert (shifted.y_train != y).all() and sorted(shifted.y_train.tolist()) == list(range(10))
    assert shifted.y_val.tolist() == shifted.y_train.tolist()


def _synthetic(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    t = torch.from_numpy
    return workloads.Data(t(x[:200]), t(y[:200]), t(x[200:250]), t(y[200:250]), t(x[250:]), t(y[250:]), 2)


def test_samuel_charges_k_experts_per_step_and_syncs_to_the_drawn_one():
    data = _synthetic()
    make = lambda: (torch.manual_seed(0), workloads.build("adult_mlp", data, {"hidden": [8]}))[1]  # noqa: E731
    budget = {"steps": 20, "batch": 16, "eval_every": 10}
    single = trainer.run_adam(make, data, 1e-2, budget, 0)
    combined = trainer.run_samuel(make, data, [1e-3, 1e-2], [1.0, 10.0], 5, budget, 0)
    assert combined["curve"][-1]["gflops"] == pytest.approx(2 * single["curve"][-1]["gflops"])
    assert sum(combined["picks"]) == 4  # 20 steps / rounds of 5


def test_train_and_score_on_a_tiny_workload(tmp_path: Path, monkeypatch):
    data = _synthetic()
    monkeypatch.setattr(workloads, "load", lambda workload, prepared, params: data)
    params = json.loads(json.dumps(_SCALES["smoke"]["adult_mlp"]))
    params["budget"] = {"steps": 12, "batch": 16, "eval_every": 4}
    files = []
    for seed in range(2):
        out = jobs.train_workload("adult_mlp", None, params, seed, logging.getLogger("test"))
        assert set(out) == {"adam", "adam-cosine", "samuel", "npacs", "shift"} and len(out["adam"]) == 3
        files.append(tmp_path / f"seed{seed}.json")
        files[-1].write_text(json.dumps(out))
    metrics = jobs.score({"adult_mlp": files}, {"adult_mlp": params}, 1)["metrics"]
    goal = np.median([min(t["final_val"] for t in json.loads(f.read_text())["adam"]) for f in files])
    assert metrics["final/adult_mlp/adam/grid3/target"] == pytest.approx(goal)
    assert metrics["time/adult_mlp/adam/grid3/reached"] in (0.0, 1.0)
    assert "shift/adult_mlp/samuel/shift/recovered" in metrics
    assert 0.0 <= metrics["profile/all/samuel/score/score"] <= 1.0


def test_the_deep_paper_autoencoder_builds_and_takes_its_pca_start():
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.random((600, 784)), dtype=torch.float32)
    data = workloads.Data(x, x, x[:10], x[:10], x[:10], x[:10], 0)
    model = workloads.build("fmnist_ae_deep", data, _SCALES["paper"]["fmnist_ae_deep"])
    widths = workloads.AUTOENCODER_WIDTHS["fmnist_ae_deep"]
    model.pca_init(continuation.pca_weights(x.numpy(), widths))
    assert [layer.out_features for layer in model.encoder] == list(widths)
    assert model(x[:4]).shape == (4, 784)
