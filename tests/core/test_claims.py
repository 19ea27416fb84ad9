"""Claims: the verdict rule on hand-computed cases, plan-time checks, not-run reasons, evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from methods.core import verdict as rule
from methods.core.claims import Agrees, Claim, Paired, Side
from methods.core.errors import ConfigError
from methods.core.plan import build_plan
from methods.core.study import load_study
from methods.reporting import scorecard, scorecard_render

T2 = 4.302652729911275  # t(0.975, 2)


def test_paired_verdicts_on_hand_computed_intervals():
    # differences 3, 3.5, 4: mean 3.5, s 0.5, half-width 4.3027 * 0.5 / sqrt(3) = 1.2421
    a, b = [13.0, 13.5, 14.0], [10.0, 10.0, 10.0]
    out = rule.paired(a, b, "higher", 0.0, "difference")
    assert out.verdict == rule.REPRODUCED and out.n == 3
    assert out.effect == pytest.approx(3.5) and out.low == pytest.approx(3.5 - T2 * 0.5 / 3**0.5)
    assert rule.paired(a, b, "higher", 5.0, "difference").verdict == rule.CONTRADICTED
    assert rule.paired(a, b, "higher", 3.0, "difference").verdict == rule.INCONCLUSIVE
    # lower is better: B - A = -3.5 lies below a margin of 0
    assert rule.paired(a, b, "lower", 0.0, "difference").verdict == rule.CONTRADICTED
    # "within 1 point": A - B > -1
    assert rule.paired([10.1, 9.9, 10.0], [10.0, 10.0, 10.0], "higher", -1.0, "difference").verdict == rule.REPRODUCED


def test_one_unit_gives_no_interval_and_no_decision():
    out = rule.paired([5.0], [1.0], "higher", 0.0, "difference")
    assert out.verdict == rule.INCONCLUSIVE and out.n == 1 and "n = 1" in out.reason


def test_ratio_is_a_geometric_mean_against_a_ratio_margin():
    out = rule.paired([8.0, 8.0], [1.0, 1.0], "higher", 7.0, "ratio")  # log ratios identical: zero width
    assert out.effect == pytest.approx(8.0) and out.verdict == rule.REPRODUCED
    alone = rule.paired([2.0, 2.0, 2.0], None, "higher", 1.0, "ratio")
    assert alone.effect == pytest.approx(2.0) and alone.verdict == rule.REPRODUCED
    with pytest.raises(ValueError):
        rule.paired([0.0, 1.0], [1.0, 1.0], "higher", 1.0, "ratio")


def test_agreement_with_a_paper_number():
    # ours - paper: -0.5, 0, 0.5: mean 0, half-width 4.3027 * 0.5 / sqrt(3) = 1.242
    assert rule.agrees([98.3, 98.8, 99.3], 98.8, 1.5).verdict == rule.REPRODUCED
    assert rule.agrees([98.3, 98.8, 99.3], 98.8, 1.0).verdict == rule.INCONCLUSIVE
    assert rule.agrees([93.3, 93.8, 94.3], 98.8, 1.0).verdict == rule.CONTRADICTED


def _config(**studies):
    config = yaml.safe_load((Path(__file__).resolve().parents[2] / "config" / "config.yaml").read_text())
    for name, entry in config["studies"].items():
        entry["enabled"] = name in studies or not studies
    return {**config, **{"scale": "laptop"}}


def test_rows_not_run_say_why():
    plan = build_plan(_config())
    reasons = {row.key: row.reason for row in plan.claims}
    assert reasons["meta-maxup-above-baseline|glyphs|0"] == ""
    assert "paper scale only" in reasons["meta-maxup-above-baseline|mini_imagenet|0"]
    assert "download=true" in reasons["protonet-omniglot|omniglot|0"]
    assert "download" not in build_plan({**_config(), "download": True}).claims[0].reason
    only = build_plan(_config(baselines={}, quantization={}))
    assert {r.reason for r in only.claims if r.study == "pruning"} == {"study disabled in config (studies.pruning.enabled)"}


@pytest.mark.parametrize("change, key", [
    ({"table": "no_such_table"}, "table"),
    ({"metric": "no_such_metric"}, "metric"),
    ({"tests": (Paired(Side("nobody", "maxup"), Side("protonet", "baseline")),)}, "method"),
    ({"tests": (Paired(Side("protonet", "no-setting"), Side("protonet", "baseline")),)}, "setting"),
    ({"datasets": ("no_data",)}, "dataset"),
])
def test_a_claim_naming_something_unknown_fails_at_plan_time(monkeypatch, change, key):
    study = load_study("metalearning")
    good = study.claims()[0]
    bad = Claim(**{**good.__dict__, **change})
    monkeypatch.setattr(type(study), "claims", lambda self: (bad,))
    with pytest.raises(ConfigError) as error:
        build_plan(_config(metalearning={}))
    assert good.id in str(error.value) and key in str(error.value)


def test_agreement_needs_the_paper_number_in_paper_numbers_csv(monkeypatch):
    study = load_study("metalearning")
    bad = Claim("x", "p", "w", "s", "omniglot_protonet", "lake_20w1s", ("omniglot",),
                (Agrees(Side("protonet", "1shot", "acc_5w1s"), 1.0, "r"),
                 Agrees(Side("protonet", "1shot", "lake_20w1s"), 1.0, "r")))
    monkeypatch.setattr(type(study), "claims", lambda self: (bad,))
    plan = build_plan({**_config(metalearning={}), "download": True})
    reasons = {row.key: row.reason for row in plan.claims}
    assert reasons["x|omniglot|0"] == "" and "could not be read" in reasons["x|omniglot|1"]


def _runs(values: dict) -> pd.DataFrame:
    rows = []
    for (method, setting, metric), per_seed in values.items():
        for seed, value in enumerate(per_seed):
            rows.append({"study": "metalearning", "dataset": "glyphs", "method": method, "setting": setting,
                         "seed": seed, "metric": metric, "value": value, "sample": -1, "commit": "abc123",
                         "dirty": False, "cpu": "Test CPU"})
    return pd.DataFrame(rows)


def test_evaluation_pairs_seeds_and_renders_every_format(tmp_path):
    study = load_study("metalearning")
    plan = build_plan(_config(metalearning={}))
    reasons = {row.key: row.reason for row in plan.claims}
    values = {}
    for head in ("protonet", "r2d2", "svm"):
        for shot in ("acc_1shot", "acc_5shot"):
            values[(head, "baseline", shot)] = [50.0, 52.0, 54.0, 56.0, 58.0]
            values[(head, "maxup", shot)] = [53.0, 55.0, 57.5, 58.5, 61.0]  # +3, +3, +3.5, +2.5, +3
    for mode in ("query-cutmix", "task-rotation", "support-cutmix"):
        for shot in ("acc_1shot", "acc_5shot"):
            values[("protonet", mode, shot)] = [50.0, 52.0, 54.0, 56.0, 58.0]
    frame = scorecard.evaluate(study, _runs(values), "laptop", reasons)
    maxup = frame[(frame["claim"] == "meta-maxup-above-baseline") & (frame["dataset"] == "glyphs")]
    assert set(maxup["verdict"]) == {rule.REPRODUCED} and set(maxup["n"]) == {5}
    assert maxup["effect"].iloc[0] == pytest.approx(3.0) and set(maxup["commits"]) == {"abc123"}
    same = frame[(frame["claim"] == "query-task-over-support") & (frame["dataset"] == "glyphs")]
    assert set(same["verdict"]) == {rule.INCONCLUSIVE}  # zero differences: the interval is the margin
    not_run = frame[frame["verdict"] == rule.NOT_RUN]
    assert not_run["reason"].str.len().gt(0).all() and "omniglot" in set(not_run["dataset"])
    text = scorecard_render.markdown(frame)
    assert "6 reproduced" in text and "not run" in text and "Student-t" in text
    assert "\\toprule" in scorecard_render.latex(frame)
    scorecard_render.forest(frame, tmp_path / "claims.png")
    assert (tmp_path / "claims.png").stat().st_size > 1000


def test_a_planned_row_without_values_is_an_error():
    study = load_study("metalearning")
    reasons = {row.key: row.reason for row in build_plan(_config(metalearning={})).claims}
    with pytest.raises(Exception, match="no values"):
        scorecard.evaluate(study, _runs({("protonet", "baseline", "acc_1shot"): [1.0, 2.0]}), "laptop", reasons)


def test_the_claims_job_refuses_declarations_other_than_the_planned_ones(tmp_path, caplog):
    from methods.cli import main
    from methods.core.claims_plan import declarations_hash

    study = load_study("metalearning")
    reasons = {row.key: "study disabled in config" for row in build_plan(_config(metalearning={})).claims
               if row.study == "metalearning"}
    args = ["claims", "--study", "metalearning", "--scale", "laptop", "--reasons", json.dumps(reasons),
            "--out", str(tmp_path / "claims.csv")]
    assert main([*args, "--declared", "0" * 16]) == 1 and "plan again" in caplog.text
    assert not (tmp_path / "claims.csv").exists()
    assert main([*args, "--declared", declarations_hash(study)]) == 0
    assert set(pd.read_csv(tmp_path / "claims.csv")["verdict"]) == {rule.NOT_RUN}


def test_a_claim_outside_its_scales_is_not_run_with_its_reason(monkeypatch):
    study = load_study("metalearning")
    good = study.claims()[1]
    paper_only = Claim(**{**good.__dict__, "scales": ("paper",), "scale_reason": "needs the paper's schedule"})
    monkeypatch.setattr(type(study), "claims", lambda self: (paper_only,))
    reasons = {row.reason for row in build_plan(_config(metalearning={})).claims if row.study == "metalearning"}
    assert reasons == {"not meaningful at the laptop scale: needs the paper's schedule"}
