"""The baselines study's runs are real and deterministic per seed."""

import json

import pytest

from methods.core import runner
from methods.core.plan import build_plan
from methods.data.registry import get_dataset


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    path = tmp_path_factory.mktemp("prepared") / "digits.npz"
    get_dataset("digits").prepare(path.parent, path)
    return path


def _spec(seed):
    plan = build_plan({"scale": "smoke", "studies": {"baselines": {"methods": ["mlp"], "seeds": 2}}})
    return plan.runs[f"baselines/digits/mlp/dense/seed{seed}"].spec("smoke")


def _run(spec, run_dir, data):
    runner.train(spec, run_dir, [data], [], 1)
    return runner.evaluate(spec, run_dir, [data], [], 1)


def test_same_seed_gives_identical_metrics_and_another_seed_does_not(tmp_path, digits):
    first = _run(_spec(0), tmp_path / "a", digits)
    again = _run(_spec(0), tmp_path / "b", digits)
    other = _run(_spec(1), tmp_path / "c", digits)
    assert first["metrics"] == again["metrics"]
    assert first["metrics"]["accuracy"] > 80  # a 5-epoch MLP on digits really learns
    assert other["metrics"] != first["metrics"]


def test_metrics_json_carries_provenance_and_cost(tmp_path, digits):
    record = _run(_spec(0), tmp_path / "run", digits)
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(record))
    prov = saved["provenance"]
    for key in ("git", "python", "packages", "cpu", "threads", "seed", "spec_hash"):
        assert key in prov
    assert set(prov["git"]) == {"commit", "dirty"}
    assert prov["packages"]["torch"].startswith("2.")
    assert saved["cost"]["wall_s"] > 0 and saved["cost"]["peak_rss_mb"] > 50
    assert saved["metrics"]["params"] == 64 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10  # the smoke MLP 64-64-32-10
