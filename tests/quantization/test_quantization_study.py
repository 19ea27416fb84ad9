import subprocess
import sys

import pandas as pd
import pytest

from methods.core.plan import build_plan
from methods.quantization.study import STUDY
from methods.quantization.tables import explode, key


def test_study_module_does_not_import_torch():
    code = "import sys, methods.quantization.study; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


@pytest.mark.parametrize("scale", ["smoke", "laptop", "paper"])
def test_grid_plans_with_baselines_as_needs(scale):
    plan = build_plan({"scale": scale, "download": scale == "paper",
                       "studies": {"quantization": {"enabled": True}}})
    ours = [r for r in plan.runs.values() if r.study == "quantization"]
    assert ours and all(need in plan.runs for r in ours for need in r.needs)
    assert {t.spec.name for t in plan.tables} == {"quantization", "wrapnet", "fedqat", "quantization_int8_minilm"}
    if scale == "paper":
        assert any(r.resources.gpu for r in ours)


def test_packed_metric_keys_become_rows():
    runs = pd.DataFrame({"metric": [key("accuracy", "ptq", "w4a4-tensor"), "plain"],
                         "method": ["ptq", "ptq"], "setting": ["all", "all"]})
    out = explode(runs)
    assert out["metric"].tolist() == ["accuracy", "plain"]
    assert out["setting"].tolist() == ["w4a4-tensor", "all"]
    with pytest.raises(ValueError):
        key("a|b", "m", "s")


def test_every_table_metric_is_titled():
    for spec in STUDY.tables:
        assert all(spec.metrics.values())


@pytest.mark.parametrize("model", ["mlp", "cnn_fc", "resnet20", "resnet18"])
def test_planned_int8_row_names_the_path_the_model_takes(model):
    """``table_rows`` names the int8 row without torch; it must be the path ``int8_path`` takes."""
    from methods.baselines.models import build_model
    from methods.quantization.int8 import int8_path
    from methods.quantization.study import _INT8_PATH

    shape = (1, 28, 28) if model in ("mlp", "cnn_fc") else (3, 32, 32)
    params = {"widths": [8, 16], "hidden": 16, "pool": 7} if model == "cnn_fc" else {"hidden": [16]}
    assert _INT8_PATH[model] == int8_path(build_model(model, shape, 10, params))


def test_laptop_wrapnet_sweeps_the_widths_where_overflow_happens():
    """Issue 17: the laptop net (cnn_fc, whose hidden layer has fan-in 3,136) needs 16 bits never to
    overflow, so the sweep covers 10 down to 7 bits against the 32-bit control from the cnn_fc
    baselines, and every width is a row of the wrapnet table."""
    from methods.core.plan import build_plan
    from methods.quantization.study import STUDY

    runs = [r for r in STUDY.grid("laptop", 2) if r.method == "wrapnet"]
    assert [r.params["widths"] for r in runs] == [[32, 10, 8, 7]] * 2
    assert [r.needs for r in runs] == [(f"baselines/fashion_mnist/cnn_fc/dense/seed{s}",) for s in (0, 1)]
    table = next(t for t in STUDY.tables if t.name == "wrapnet")
    assert {s for _, _, s in STUDY.table_rows(table, runs)} == {f"acc{b}" for b in (32, 10, 8, 7)}
    plan = build_plan({"scale": "laptop", "studies": {"baselines": {}, "quantization": {}}})
    assert all(need in plan.runs for run in runs for need in run.needs)
