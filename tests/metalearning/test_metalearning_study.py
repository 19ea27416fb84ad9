import numpy as np
import pandas as pd
import pytest

from methods.core.errors import ConfigError
from methods.core.plan import build_plan
from methods.metalearning.jobs import episodic_config
from methods.metalearning.study import MAXUP_POOL, SETTINGS, STUDY
from methods.metalearning.tables import delta_name, summarize


def test_grids_cover_every_table_and_paper_scale_needs_a_gpu():
    laptop = STUDY.grid("laptop", 3)
    cells = {(r.dataset, r.method, r.setting) for r in laptop}
    assert {("glyphs", h, s) for h in ("protonet", "r2d2", "svm") for s in ("baseline", "maxup")} <= cells
    assert {("glyphs", "protonet", s) for s in ("query-cutmix", "support-cutmix", "task-rotation")} <= cells
    assert ("omniglot", "protonet", "standard") in cells
    paper = STUDY.grid("paper", 3)
    assert {r.dataset for r in paper} == {"glyphs", "cifar_fs", "fc100", "omniglot"}
    assert all(r.resources.gpu == 1 for r in paper)
    assert all(r.params["backbone"] == "resnet12" for r in paper if r.dataset in ("cifar_fs", "fc100"))
    for run in laptop + paper:  # every run's settings build a valid training configuration
        episodic_config(dict(run.params), run.setting, SETTINGS, MAXUP_POOL)


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


def _runs(shift: float) -> pd.DataFrame:
    """Two seeds x 50 episodes; the treatment scores each baseline episode plus ``shift``."""
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(2):
        for i, value in enumerate(rng.normal(60, 10, size=50)):
            for setting, score in (("baseline", value), ("maxup", value + shift)):
                rows.append({"study": "metalearning", "dataset": "glyphs", "method": "protonet", "setting": setting,
                             "seed": seed, "run_id": "x", "commit": "abc", "dirty": False, "metric": "acc_1shot",
                             "value": score, "kind": "quality", "sample": i})
    return pd.DataFrame(rows)


def test_paired_rows_measure_the_per_episode_difference():
    spec = STUDY.table("meta_maxup")
    empty = pd.DataFrame(columns=["table", "dataset", "method", "setting", "metric", "value", "source",
                                  "source_kind", "status", "note"])
    long = summarize(spec, _runs(2.5), "metalearning", "laptop", empty, [("protonet", "baseline"), ("protonet", "maxup")])
    delta = long[long["setting"] == delta_name("maxup")].iloc[0]
    assert delta["n"] == 100 and delta["mean"] == pytest.approx(2.5)
    assert delta["ci95_high"] - delta["ci95_low"] == pytest.approx(0.0, abs=1e-9)  # identical shifts: no spread
    assert list(long["setting"]) == ["baseline", "maxup", delta_name("maxup")]
