import pytest

from methods.core.errors import ConfigError
from methods.core.plan import build_plan, left_out_summary, waiting_levels
from methods.core.study import Run


def _config(**overrides):
    config = {"scale": "smoke", "download": False, "mirrors": [], "seeds": None,
              "studies": {"baselines": {"enabled": True, "datasets": [], "methods": [], "seeds": None}}}
    config.update(overrides)
    return config


def test_grid_is_study_x_dataset_x_method_x_setting_x_seed():
    plan = build_plan(_config())
    assert sorted(plan.runs) == [
        "baselines/digits/mlp/dense/seed0", "baselines/digits/mlp/dense/seed1",
        "baselines/fashion_mnist/cnn/dense/seed0", "baselines/fashion_mnist/cnn/dense/seed1",
    ]
    assert [t.spec.name for t in plan.tables] == ["baselines"]


def test_seed_count_comes_from_study_then_top_level_then_default():
    assert len(build_plan(_config(seeds=5)).runs) == 10
    config = _config(seeds=5)
    config["studies"]["baselines"]["seeds"] = 1
    assert len(build_plan(config).runs) == 2


def test_unknown_study_names_the_key_and_the_known_studies():
    with pytest.raises(ConfigError, match=r"config key 'studies': got 'resnet_zoo'; allowed: one of \[.*'baselines'"):
        build_plan(_config(studies={"resnet_zoo": {}}))


@pytest.mark.parametrize("key,value,allowed", [("datasets", "imagenet", "digits"), ("methods", "vit", "mlp")])
def test_unknown_dataset_or_method_names_the_key_value_and_choices(key, value, allowed):
    config = _config()
    config["studies"]["baselines"][key] = [value]
    with pytest.raises(ConfigError, match=f"studies.baselines.{key}.*'{value}'.*{allowed}"):
        build_plan(config)


def test_unknown_scale_is_rejected():
    with pytest.raises(ConfigError, match="scale"):
        build_plan(_config(scale="huge"))


def test_no_enabled_study_is_an_error():
    config = _config()
    config["studies"]["baselines"]["enabled"] = False
    with pytest.raises(ConfigError, match="at least one enabled study"):
        build_plan(config)


def test_paper_scale_leaves_out_download_data_unless_download_is_on():
    offline = build_plan(_config(scale="paper"))
    assert not any(run.dataset == "cifar10" for run in offline.runs.values())
    assert any("download=true" in line for line in left_out_summary(offline))
    online = build_plan(_config(scale="paper", download=True))
    resnets = [run for run in online.runs.values() if run.dataset == "cifar10"]
    assert {run.method for run in resnets} == {"resnet20", "resnet56"}
    assert all(run.resources.gpu == 1 for run in resnets)


def test_imagenet_resnet18_runs_need_download_and_a_gpu():
    studies = {"baselines": {}, "quantization": {}}
    offline = build_plan(_config(scale="paper", studies=studies))
    assert not any(run.dataset == "imagenet" for run in offline.runs.values())
    blocked = {item["run"] for item in offline.left_out if "imagenet" in item.get("datasets", [])}
    assert "baselines/imagenet/resnet18/dense/seed0" in blocked and "quantization/imagenet/wrapnet/all/seed2" in blocked
    assert any("imagenet" in line and "download=true" in line for line in left_out_summary(offline))
    online = build_plan(_config(scale="paper", download=True, studies=studies))
    imagenet = [run for run in online.runs.values() if run.dataset == "imagenet"]
    assert {(run.study, run.method) for run in imagenet} == {
        ("baselines", "resnet18"), ("quantization", "ptq"), ("quantization", "qat"), ("quantization", "lsq"),
        ("quantization", "wrapnet")}
    assert all(run.resources.gpu == 1 and run.eval_resources.gpu == 1 for run in imagenet)
    assert all(need.startswith("baselines/imagenet/resnet18/") for run in imagenet for need in run.needs)


def test_restricting_methods_keeps_only_those_runs():
    config = _config()
    config["studies"]["baselines"]["methods"] = ["mlp"]
    assert {run.method for run in build_plan(config).runs.values()} == {"mlp"}


def test_planning_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys; from methods.core.plan import build_plan; "
            "build_plan({'scale': 'laptop', 'studies': {'baselines': {}}}); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_table_without_runs_at_a_scale_is_left_out_and_says_so():
    config = _config(studies={"pruning": {"enabled": True}})
    smoke = build_plan(config)
    assert "bonsai_llm" not in [t.spec.name for t in smoke.tables]
    assert {"study": "pruning", "table": "bonsai_llm", "reason": "not part of the smoke scale"} in smoke.left_out
    line = next(line for line in left_out_summary(smoke) if "bonsai_llm" in line)
    assert "download" not in line
    laptop = build_plan(_config(scale="laptop", studies={"pruning": {"enabled": True}}))
    tables = {t.spec.name: t for t in laptop.tables}
    assert all("_llm/" in run_id for run_id in tables["bonsai_llm"].run_ids)
    assert not any("_llm/" in run_id for run_id in tables["bonsai"].run_ids)


def test_studies_choose_which_runs_one_job_trains_and_evaluates():
    """Cheap evaluations run in the training job (issue 22); long trainings and paper scale stay two jobs."""
    studies = {name: {"enabled": True} for name in ("baselines", "metalearning", "tabular_llm")}
    laptop = build_plan(_config(scale="laptop", download=True, studies=studies))
    fused = laptop.evaluated_in_training
    assert fused <= set(laptop.runs)
    tabular = {run_id for run_id in laptop.runs if run_id.startswith("tabular_llm/")}
    assert tabular and tabular <= fused
    long = {run_id for run_id in laptop.runs if run_id.startswith("metalearning/omniglot/protonet/")
            and run_id.split("/")[-2] in ("1shot", "5shot")}  # Snell et al.'s Omniglot ProtoNet trainings
    short = {run_id for run_id in laptop.runs if run_id.startswith("metalearning/")} - long
    assert long and short and short <= fused
    assert not any(run_id.startswith("baselines/") or run_id in long for run_id in fused)
    paper = build_plan(_config(scale="paper", studies=studies))
    assert not paper.evaluated_in_training


def test_waiting_levels_count_the_longest_chain_of_runs_below_a_run():
    """a <- b <- c and a <- d: a waits for two levels, b for one, c and d for none."""
    runs = [Run("s", "x", "a", "all", 0), Run("s", "x", "b", "all", 0, needs=("s/x/a/all/seed0",)),
            Run("s", "x", "c", "all", 0, needs=("s/x/b/all/seed0",)),
            Run("s", "x", "d", "all", 0, needs=("s/x/a/all/seed0",))]
    levels = waiting_levels({run.run_id: run for run in runs})
    assert levels == {"s/x/a/all/seed0": 2, "s/x/b/all/seed0": 1, "s/x/c/all/seed0": 0, "s/x/d/all/seed0": 0}


def test_runs_other_runs_start_from_are_trained_first():
    """The quantization runs start from the float baselines, so the baselines' training gets priority."""
    studies = {"baselines": {"enabled": True}, "quantization": {"enabled": True}}
    plan = build_plan(_config(scale="laptop", studies=studies))
    needed = {need for run in plan.runs.values() for need in run.needs}
    assert needed and all(plan.waiting_levels[run_id] >= 1 for run_id in needed)
    assert all(plan.waiting_levels[run_id] == 0 for run_id in plan.runs if run_id not in needed)
    assert any(run_id.startswith("baselines/") for run_id in needed)


def test_a_study_precision_goes_into_its_runs_and_float32_changes_no_spec():
    entry = {"enabled": True, "datasets": [], "methods": [], "seeds": None}
    default = build_plan(_config(studies={"metalearning": dict(entry)}))
    same = build_plan(_config(studies={"metalearning": {**entry, "precision": "float32"}}))
    bf16 = build_plan(_config(studies={"metalearning": {**entry, "precision": "bfloat16"}}))
    assert sorted(default.runs) == sorted(bf16.runs)
    assert all(same.runs[i].spec("smoke") == run.spec("smoke") for i, run in default.runs.items())
    assert all(run.params["precision"] == "bfloat16" for run in bf16.runs.values())
    assert all("precision" not in run.params for run in default.runs.values())


def test_a_precision_the_study_cannot_train_in_names_the_key():
    config = _config()
    config["studies"]["baselines"]["precision"] = "bfloat16"
    with pytest.raises(ConfigError, match=r"studies.baselines.precision.*'bfloat16'.*float32"):
        build_plan(config)
