"""The whole workflow at smoke scale, in a copy of the repository: tables, rerun, report."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from workflowkit import copy_workflow, snakemake

pytestmark = pytest.mark.slow
LONG_COLUMNS = {"study", "table", "dataset", "method", "setting", "metric", "mean", "ci95_low", "ci95_high", "n",
                "scale", "paper_value", "paper_source"}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    root = copy_workflow(tmp_path_factory.mktemp("smoke"))
    result = snakemake(root, "--cores", "2", "--config", "scale=smoke")
    assert result.returncode == 0, result.stdout[-5000:]
    return root


def test_every_enabled_table_is_written_in_three_formats_with_its_figures(smoke):
    reports = smoke / "reports" / "smoke"
    for ext in ("csv", "md", "tex"):
        assert (reports / f"baselines.{ext}").stat().st_size > 0
    assert (reports / "figures" / "baselines-accuracy-vs-latency.png").stat().st_size > 1000
    index = (reports / "README.md").read_text()
    assert "[md](baselines.md)" in index and "Left out of this run" in index
    assert not (smoke / "reports" / "laptop").exists()  # scales never overwrite each other


def test_table_csv_is_long_form_with_intervals_and_paper_numbers(smoke):
    table = pd.read_csv(smoke / "reports" / "smoke" / "baselines.csv")
    assert LONG_COLUMNS <= set(table.columns)
    measured = table[table["n"] > 0]
    assert set(measured["n"]) == {2} and set(measured["scale"]) == {"smoke"}
    accuracy = measured[measured["metric"] == "accuracy"].set_index("dataset")
    assert (accuracy["ci95_low"] <= accuracy["mean"]).all() and (accuracy["mean"] <= accuracy["ci95_high"]).all()
    assert accuracy.loc["digits", "mean"] > 80
    paper = table[table["paper_value"].notna()]
    assert set(paper["dataset"]) == {"cifar10"} and paper["paper_source"].str.contains("He et al").all()


def test_markdown_table_states_interval_n_scale_and_commit(smoke):
    text = (smoke / "reports" / "smoke" / "baselines.md").read_text()
    assert "Student-t" in text and "n = 2" in text and "Scale: smoke" in text and "Commit:" in text
    assert re.search(r"\d+\.\d+ ± \d+\.\d+", text)
    assert "\\toprule" in (smoke / "reports" / "smoke" / "baselines.tex").read_text()


def test_runs_record_provenance_and_benchmark_costs(smoke):
    run = smoke / "results" / "smoke" / "baselines" / "digits" / "mlp" / "dense" / "seed0"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["provenance"]["spec_hash"] and metrics["provenance"]["threads"] >= 1
    assert (run / "train.benchmark.tsv").exists() and (run / "evaluate.benchmark.tsv").exists()
    runs = pd.read_parquet(smoke / "results" / "smoke" / "baselines" / "runs.parquet")
    assert {"train_wall_s", "train_peak_rss_mb", "evaluate_wall_s"} <= set(runs["metric"])
    assert {"commit", "dirty", "spec_hash"} <= set(runs.columns)


def test_runs_evaluated_in_training_write_both_records_from_one_job(smoke):
    """tabular_llm evaluates in its training job (issue 22): one process, the same two records."""
    import yaml

    from methods.core.plan import build_plan

    config = yaml.safe_load((smoke / "config" / "config.yaml").read_text())
    plan = build_plan({**config, "scale": "smoke"})
    fused = sorted(plan.evaluated_in_training)
    opted_in = ("tabular_llm", "metalearning", "architecture", "optimizers", "quantization", "pruning")
    assert fused and all(run_id.split("/")[0] in opted_in for run_id in fused)
    assert not any("/omniglot/" in run_id or run_id.startswith("baselines/") for run_id in fused)
    run = smoke / "results" / "smoke" / next(r for r in fused if r.startswith("tabular_llm/"))
    trained = json.loads((run / "train.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["train"]["summary"] == trained["summary"] and metrics["metrics"]
    assert (run / "train_evaluate.benchmark.tsv").exists()
    assert not (run / "train.benchmark.tsv").exists() and not (run / "evaluate.benchmark.tsv").exists()
    runs = pd.read_parquet(smoke / "results" / "smoke" / "tabular_llm" / "runs.parquet")
    assert {"train_evaluate_cpu_s", "train_evaluate_wall_s"} <= set(runs["metric"])


def test_second_run_has_nothing_to_do(smoke):
    result = snakemake(smoke, "--cores", "2", "--config", "scale=smoke")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout


def test_html_report_is_built(smoke):
    result = snakemake(smoke, "--config", "scale=smoke", "--report", "report.zip")
    assert result.returncode == 0, result.stdout[-3000:]
    assert (smoke / "report.zip").stat().st_size > 10_000


def test_more_seeds_only_adds_the_new_runs(smoke):
    import yaml

    from methods.core.plan import build_plan

    config = yaml.safe_load((smoke / "config" / "config.yaml").read_text())
    before = build_plan({**config, "scale": "smoke"}).runs
    after = build_plan({**config, "scale": "smoke", "seeds": 3}).runs
    result = snakemake(smoke, "-n", "--config", "scale=smoke", "seeds=3")
    assert result.returncode == 0, result.stdout[-3000:]
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", result.stdout, flags=re.M))
    assert set(before) < set(after)
    # the new seeds' runs, and the finished runs that pool every seed (the optimizers study's scoring,
    # whose target is a median over seeds): their needs change; every other finished run is kept
    pooled = {run_id for run_id, run in before.items() if after[run_id].needs != run.needs}
    assert pooled == {run_id for run_id in before if run_id.startswith("optimizers/") and "/score/" in run_id}
    assert int(jobs["train"]) + int(jobs.get("train_evaluate", 0)) == len(set(after) - set(before)) + len(pooled)


def test_claims_scorecard_is_written_with_a_verdict_for_every_claim(smoke):
    from methods.core.verdict import VERDICTS

    reports = smoke / "reports" / "smoke"
    claims = pd.read_csv(reports / "claims.csv")
    assert {"claim", "paper", "statement", "table", "dataset", "setting", "effect", "ci95_low", "ci95_high", "n",
            "verdict", "reason", "scale", "commits", "machines"} <= set(claims.columns)
    assert set(claims["verdict"]) <= set(VERDICTS) and (claims["verdict"] != "not run").any()
    assert claims.loc[claims["verdict"] == "not run", "reason"].notna().all()
    assert (reports / "figures" / "claims-effects.png").stat().st_size > 1000
    assert "Claims scorecard" in (reports / "README.md").read_text()


def test_table_rows_known_at_plan_time_cover_every_measured_row(smoke):
    """Claims are checked against each study's ``table_rows``: they must hold every row the jobs report."""
    import yaml

    from methods.core.claims_plan import feeds
    from methods.core.plan import build_plan
    from methods.core.study import load_study

    plan = build_plan({**yaml.safe_load((smoke / "config" / "config.yaml").read_text()), "scale": "smoke"})
    for table in plan.tables:
        study = load_study(table.study)
        known = study.table_rows(table.spec, [plan.runs[r] for r in table.run_ids if feeds(table.spec, plan.runs[r])])
        long = pd.read_csv(smoke / "reports" / "smoke" / f"{table.spec.name}.csv")
        measured = long[(long["n"] > 0) & (long["dataset"] != "average")]
        rows = set(zip(measured["dataset"], measured["method"], measured["setting"]))
        rows = {r for r in rows if not r[2].startswith("Δ ")}  # paired rows derived by the tables
        assert rows <= known, (table.spec.name, sorted(rows - known))
