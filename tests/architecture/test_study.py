"""The architecture study: its grid per scale, its ranking arithmetic and one small real run."""

import logging
import time

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from methods.architecture import inputs, jobs, proxies, ranking
from methods.architecture.nb201 import parse_cell
from methods.architecture.study import RANKING, SEARCH, STUDY
from methods.data import nasbench201
from methods.reporting import paper


def test_grid_scales_and_paper_chunks_cover_every_cell_once():
    assert [r.method for r in STUDY.grid("smoke", 1)] == ["proxies", "ranking"]
    assert len(STUDY.grid("laptop", 5)) == 10
    paper = STUDY.grid("paper", 3)
    chunks = [r for r in paper if r.method == "proxies" and r.seed == 0]
    assert len(chunks) == 16 and all("cifar10" in r.datasets for r in chunks)
    parts = [np.array_split(jobs.sample(0, r.params["n_archs"]), r.params["chunks"])[r.params["chunk"]] for r in chunks]
    assert sorted(np.concatenate(parts).tolist()) == list(range(15625))
    ranking_run = [r for r in paper if r.method == "ranking" and r.seed == 0][0]
    assert set(ranking_run.needs) == {r.run_id for r in chunks}


def test_ranks_put_nan_last_and_combined_is_mean_rank():
    assert ranking.ranks(np.array([3.0, np.nan, 1.0, 2.0])).tolist() == [4.0, 1.0, 2.0, 3.0]
    assert ranking.combined(np.array([1.0, 2.0, 3.0]), np.array([3.0, 1.0, 2.0])).tolist() == [2.0, 1.5, 2.5]


def test_search_picks_the_proxy_maximum_and_its_percentile():
    population = np.arange(100.0)
    picked = ranking.search(np.array([0.1, 0.9, 0.5]), np.array([10.0, 95.0, 50.0]), population)
    assert picked == {"test_accuracy": 95.0, "percentile": 96.0}


def test_bootstrap_interval_of_a_perfect_ranking_is_one():
    x = np.arange(30.0)
    bounds = ranking.bootstrap(x, 2 * x + 1, 50, 0)
    assert bounds["spearman"] == pytest.approx((1.0, 1.0)) and bounds["kendall"] == pytest.approx((1.0, 1.0))


def test_disconnected_cell_proxies(one_thread):
    """All-none cell: the output is the classifier's bias alone, so synflow is 0 and jacov undefined."""
    x, y = inputs.batch("digits", 4, 0)
    cell = parse_cell("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    values, seconds = proxies.score_all(cell, 0, x, y)
    assert values["synflow"] == 0.0 and np.isnan(values["jacov"]) and values["params"] == 73306
    assert set(seconds) == set(proxies.PROXIES) and all(s >= 0 for s in seconds.values())


def test_gradient_proxies_share_one_backward_and_each_is_charged_for_it(one_thread):
    x, y = inputs.batch("digits", 4, 0)
    cell = parse_cell("|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|")
    values, seconds = proxies.score_all(cell, 3, x, y, which=("grad_norm", "snip"))
    alone = proxies._loss_grads(cell, 3, x, y)  # the same seeded network and batch, computed again
    assert values["grad_norm"] == proxies.grad_norm(alone) and values["snip"] == proxies.snip(alone)
    assert values["grad_norm"] > 0 and values["snip"] > 0
    started = time.process_time()
    proxies._loss_grads(cell, 3, x, y)
    backward = time.process_time() - started
    assert min(seconds["grad_norm"], seconds["snip"]) > 0.2 * backward  # the shared backward is in both


def test_digit_inputs_are_not_cifar():
    x, y = inputs.batch("digits", 8, 1)
    assert tuple(x.shape) == (8, 3, 32, 32) and set(y.tolist()) <= set(range(10))
    assert "not CIFAR" in inputs.TITLES["digits"]
    with pytest.raises(ValueError, match="cifar10"):
        inputs.batch("cifar10", 8, 1)


@pytest.fixture
def one_thread():
    """Jobs run on their rule's threads (1 here); an unbounded pool only burns CPU on a busy machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_small_real_run_rekeys_into_declared_rows(tmp_path, one_thread):
    prepared = tmp_path / "nb.npz"
    nasbench201.prepare(tmp_path, prepared)
    params = {"n_archs": 6, "n_data": 2, "chunks": 2, "batch": 4, "inputs": "digits", "search_n": 6,
              "resamples": 10, "seed": 0}
    files = []
    for chunk in range(2):
        files.append(tmp_path / f"c{chunk}.csv")
        jobs.score_chunk(prepared, {**params, "chunk": chunk}, 0, files[-1], logging.getLogger("test"))
    result = jobs.rank_and_search(prepared, files, params)
    metrics = result["metrics"]
    assert metrics["archs"] == 6 and metrics["archs_data"] == 2
    # #params rho on the sample, computed directly
    archs, acc = nasbench201.read_shipped()
    sample = jobs.sample(0, 6)
    n_params = [9 * parse_cell(a).count("nor_conv_3x3") + parse_cell(a).count("nor_conv_1x1") for a in archs[sample]]
    expected = spearmanr(n_params, acc["cifar10-valid"][sample])[0]
    assert metrics["ranking/cifar10-valid/params/data-free/spearman"] == pytest.approx(expected)
    runs = pd.DataFrame([{"method": "ranking", "setting": "all", "dataset": "nasbench201", "metric": k, "value": v,
                          "seed": 0, "run_id": "r"} for k, v in metrics.items()])
    grid = STUDY.grid("smoke", 1)
    for spec_name in (RANKING, SEARCH):
        spec = STUDY.table(spec_name)
        rows = STUDY.table_runs(spec, runs)
        measured = {(d, m, s) for d, m, s in zip(rows["dataset"], rows["method"], rows["setting"])}
        assert measured == STUDY.table_rows(spec, grid)
        assert set(rows["metric"]) == set(spec.metrics)
    # the table: pooled rho replaces the measured cell only, never a paper-only row of another setting
    base = {"study": "architecture", "commit": "abc", "dirty": False, "cpu": "cpu", "kind": "quality", "seed": 0,
            "run_id": "architecture/nasbench201/ranking/all/seed0", "method": "ranking", "setting": "all",
            "dataset": "nasbench201"}
    collected = pd.DataFrame([{**base, "metric": k, "value": np.nan if v is None else v, "sample": -1}
                              for k, v in metrics.items()]
                             + [{**base, "metric": k, "value": np.nan if v is None else v, "sample": i}
                                for k, values in result["samples"].items() for i, v in enumerate(values)])
    long = STUDY.summarize(STUDY.table(RANKING), collected, "smoke", paper.load(STUDY.paper_numbers_path(), RANKING))
    jacov = long[(long["dataset"] == "cifar10-valid") & (long["method"] == "jacov") & (long["metric"] == "spearman")]
    by_setting = {s: (int(n), m) for s, n, m in zip(jacov["setting"], jacov["n"], jacov["mean"])}
    assert by_setting["digits"][0] == 2 and by_setting["cifar10"][0] == 0 and np.isnan(by_setting["cifar10"][1])
