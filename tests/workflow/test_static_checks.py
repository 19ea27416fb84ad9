"""Lint, dry runs at every scale, and agreement between the install paths."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from workflowkit import ROOT, snakemake


def test_snakemake_lint_is_clean(workflow_dir):
    result = snakemake(workflow_dir, "--lint")
    assert result.returncode == 0 and "Congratulations" in result.stdout, result.stdout[-3000:]


@pytest.mark.parametrize("scale", ["smoke", "laptop", "paper"])
def test_dry_run_plans_every_scale(workflow_dir, scale):
    result = snakemake(workflow_dir, "-n", "--config", f"scale={scale}")
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.search(r"^train\s+\d+$", result.stdout, flags=re.M)


def test_a_fresh_clone_with_the_committed_laptop_tables_still_runs_the_studies(workflow_dir):
    """reports/laptop/ is committed: its tables must not make a fresh clone's run look done."""
    import shutil

    shutil.copytree(ROOT / "reports" / "laptop", workflow_dir / "reports" / "laptop", dirs_exist_ok=True)
    result = snakemake(workflow_dir, "-n")
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.search(r"^train\s+\d+$", result.stdout, flags=re.M) and re.search(r"^table\s+\d+$", result.stdout, flags=re.M)


def test_paper_scale_with_downloads_plans_the_papers_models(workflow_dir):
    result = snakemake(workflow_dir, "-n", "-p", "--config", "scale=paper", "download=true")
    assert result.returncode == 0, result.stdout[-3000:]
    for dataset in ("cifar10", "mini_imagenet", "imagenet"):
        assert f"fetch dataset {dataset}" in result.stdout, dataset
    assert '"method": "resnet56"' in result.stdout and '"epochs": 164' in result.stdout
    assert "train baselines/imagenet/resnet18/dense seed 0" in result.stdout and '"epochs": 90' in result.stdout


def _pins(lines):
    pins = {}
    for line in lines:
        line = line.split("#")[0].strip().lstrip("- ").strip()
        match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([\w.+]+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_conda_env_pins_equal_the_pip_requirements_and_cover_pyproject():
    base = _pins((ROOT / "requirements" / "base.txt").read_text().splitlines())
    cpu = _pins((ROOT / "requirements" / "cpu.txt").read_text().splitlines())
    env = yaml.safe_load((ROOT / "envs" / "effrepro.yaml").read_text())
    pip_section = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    conda_pins = _pins(pip_section)
    assert conda_pins == {**base, **cpu}
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=!~\[ ]", dep)[0].lower() for dep in declared["dependencies"]}
    names |= {re.split(r"[<>=!~\[ ]", dep)[0].lower() for deps in declared["optional-dependencies"].values() for dep in deps}
    assert names == set(conda_pins), f"pyproject vs pins: {names ^ set(conda_pins)}"


def test_cpu_requirements_pin_the_cpu_torch():
    assert "torch==2.13.0" in (ROOT / "requirements" / "cpu.txt").read_text().splitlines()


def test_every_rule_declares_log_benchmark_or_is_cheap_and_threads_and_resources():
    for path in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        text = path.read_text()
        for rule in re.split(r"^rule ", text, flags=re.M)[1:]:
            name = rule.split(":")[0]
            for directive in ("log:", "threads:", "resources:", "conda:"):
                assert directive in rule, f"rule {name} in {path.name} lacks {directive}"
            if name not in {"figure", "index"}:
                assert "benchmark:" in rule, f"rule {name} lacks benchmark:"
