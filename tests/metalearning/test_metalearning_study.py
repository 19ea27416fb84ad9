import numpy as np
import pandas as pd
import pytest

from methods.core.errors import ConfigError
from methods.core.plan import build_plan
from methods.metalearning.jobs import episodic_config
from methods.metalearning.study import MAXUP_POOL, SETTINGS, STUDY
from methods.metalearning.tables import delta_name, summarize
from methods.reporting import render
from methods.reporting.aggregate import LONG_COLUMNS


def test_grids_cover_every_table_and_paper_scale_needs_a_gpu():
    laptop = STUDY.grid("laptop", 3)
    cells = {(r.dataset, r.method, r.setting) for r in laptop}
    assert {("glyphs", h, s) for h in ("protonet", "r2d2", "svm") for s in ("baseline", "maxup")} <= cells
    assert {("glyphs", "protonet", s) for s in ("query-cutmix", "support-cutmix", "task-rotation")} <= cells
    # real Omniglot beside the glyphs for the Meta-MaxUp and augmentation-mode tables (issue 16, item 6)
    assert {(d, "protonet", "maxup") for d in ("glyphs", "omniglot")} <= cells
    assert {r.params["rotations"] for r in laptop if r.dataset == "omniglot" and r.setting == "maxup"} == {False}
    omniglot = [r for r in laptop if r.dataset == "omniglot" and r.setting in ("1shot", "5shot")]
    # Snell et al. 2017: one model per shot, plain head, Adam 1e-3, no decay
    assert {(r.setting, r.params["k_shot"], r.params["val_shot"]) for r in omniglot} == {("1shot", 1, 1), ("5shot", 5, 5)}
    assert all(r.params["protonet_form"] == "plain" and r.params["optimizer"] == "adam" and r.params["lr"] == 1e-3
               and r.params["weight_decay"] == 0 for r in omniglot)
    # issue 16: the 1-shot model trains 60-way as the paper does (1,000 episodes, rate halved at 600), the
    # 5-shot model 20-way on Snell's 2,000-episode halving
    assert {(r.setting, r.params["n_way"], r.params["episodes"], r.params["lr_halve_every"]) for r in omniglot} == {
        ("1shot", 60, 1000, 600), ("5shot", 20, 1250, 2000)}
    assert all(r.params["shot_matched"] for r in omniglot)
    paper = STUDY.grid("paper", 3)
    assert {r.dataset for r in paper} == {"glyphs", "mini_imagenet", "cifar_fs", "fc100", "omniglot"}
    assert all(r.resources.gpu == 1 for r in paper)
    blocks = {r.dataset: r.params["drop_block"] for r in paper if r.params["backbone"] == "resnet12"}
    assert blocks == {"mini_imagenet": 5, "cifar_fs": 2, "fc100": 2}  # DropBlock size by image size (brief §2.5)
    assert {r.params["n_way"] for r in paper if r.dataset == "omniglot"} == {60}
    assert all(r.params["trainval"] for r in paper if r.dataset == "omniglot")
    settings = {**SETTINGS, "1shot": "none", "5shot": "none"}
    for run in laptop + paper:  # every run's settings build a valid training configuration
        episodic_config(dict(run.params), run.setting, settings, MAXUP_POOL)


def test_offline_plan_leaves_out_omniglot_and_its_table():
    config = {"scale": "laptop", "download": False, "studies": {"metalearning": {"enabled": True}}}
    plan = build_plan(config)
    assert {t.spec.name for t in plan.tables} == {"meta_maxup", "meta_aug_modes"}
    assert not any("omniglot" in run_id for run_id in plan.runs)
    paper = build_plan({**config, "scale": "paper", "download": True})
    assert {t.spec.name for t in paper.tables} == {"meta_maxup", "meta_aug_modes", "omniglot_protonet"}


def test_unknown_setting_is_a_config_error():
    with pytest.raises(ConfigError) as error:
        episodic_config({"episodes": 10}, "query-warp", SETTINGS, MAXUP_POOL)
    assert error.value.key == "setting"


def _runs(shifts) -> pd.DataFrame:
    """Two seeds x 50 episodes; on seed k the treatment scores each baseline episode plus ``shifts[k]``."""
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(2):
        for i, value in enumerate(rng.normal(60, 10, size=50)):
            for setting, score in (("baseline", value), ("maxup", value + shifts[seed])):
                rows.append({"study": "metalearning", "dataset": "glyphs", "method": "protonet", "setting": setting,
                             "seed": seed, "run_id": "x", "commit": "abc", "dirty": False, "cpu": "cpu",
                             "metric": "acc_1shot", "value": score, "kind": "quality", "sample": i})
    return pd.DataFrame(rows)


_EMPTY_PAPER = pd.DataFrame(columns=["table", "dataset", "method", "setting", "metric", "value", "source",
                                     "source_kind", "status", "note"])
_CELLS = [("protonet", "baseline"), ("protonet", "maxup")]


def _delta(long, interval):
    return long[(long["setting"] == delta_name("maxup")) & (long["interval"] == interval)].iloc[0]


def test_paired_rows_measure_the_per_episode_difference():
    long = summarize(STUDY.table("meta_maxup"), _runs([2.5, 2.5]), "metalearning", "laptop", _EMPTY_PAPER, _CELLS)
    delta = _delta(long, "normal")
    assert delta["n"] == 100 and delta["mean"] == pytest.approx(2.5)


def test_seed_level_intervals_count_the_spread_between_seeds_and_decide_the_verdict():
    spec = STUDY.table("meta_maxup")
    long = summarize(spec, _runs([2.5, 0.5]), "metalearning", "laptop", _EMPTY_PAPER, _CELLS)
    episodes, seeds = _delta(long, "normal"), _delta(long, "t")
    # per-episode differences: 2.5 on 50 pairs, 0.5 on 50: s = 1.005, 1.96 * s / sqrt(100) = 0.197
    assert episodes["mean"] == pytest.approx(1.5) and episodes["ci95_low"] > 1.2
    # per-seed mean differences 2.5 and 0.5: s / sqrt(2) = 1, t(0.975, 1) = 12.706
    assert seeds["n"] == 2 and seeds["mean"] == pytest.approx(1.5)
    assert seeds["ci95_high"] - seeds["mean"] == pytest.approx(12.706, rel=1e-4)
    base = long[(long["setting"] == "baseline") & (long["interval"] == "t")].iloc[0]
    assert base["n"] == 2 and list(long.columns) == LONG_COLUMNS
    text = render.markdown(long, spec, STUDY.wide)
    assert "1.50 ± 0.20 (± 12.71)" in text and "1-shot within" in text
    assert "over test episodes" in text and "Student-t interval over seeds" in text and "n = 2" in text
    close = summarize(spec, _runs([2.5, 2.4]), "metalearning", "laptop", _EMPTY_PAPER, _CELLS)
    assert "1-shot above" in render.markdown(close, spec, STUDY.wide)
    assert "1-shot below" in render.markdown(
        summarize(spec, _runs([-2.5, -2.4]), "metalearning", "laptop", _EMPTY_PAPER, _CELLS), spec, STUDY.wide)
