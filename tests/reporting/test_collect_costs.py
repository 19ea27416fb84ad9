"""Cost columns: wall time from Snakemake's benchmark files, CPU and peak memory as the job measured them."""

import json

from methods.reporting.collect import stage_costs

_HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _benchmark(path, wall, max_rss, cpu):
    path.write_text(_HEADER + f"{wall}\t0:00:{int(wall):02d}\t{max_rss}\t1\t1\t1\t0\t0\t50\t{cpu}\n")


def test_one_job_for_both_stages_sums_their_cpu_and_keeps_the_larger_peak(tmp_path):
    _benchmark(tmp_path / "train_evaluate.benchmark.tsv", 40.0, 300.0, 12.0)  # sampled: misses the end
    record = {"train": {"cost": {"wall_s": 20.0, "cpu_s": 25.5, "peak_rss_mb": 410.0}},
              "cost": {"wall_s": 10.0, "cpu_s": 9.5, "peak_rss_mb": 450.0}}
    costs = stage_costs(tmp_path, record)
    assert costs == {"train_evaluate": {"wall_s": 40.0, "cpu_s": 35.0, "peak_rss_mb": 450.0}}


def test_two_jobs_each_take_their_own_measurement(tmp_path):
    _benchmark(tmp_path / "train.benchmark.tsv", 43.5, 684.0, 26.0)
    _benchmark(tmp_path / "evaluate.benchmark.tsv", 18.0, 700.0, 26.6)
    record = {"train": {"cost": {"wall_s": 42.9, "cpu_s": 41.0, "peak_rss_mb": 848.5}},
              "cost": {"wall_s": 17.0, "cpu_s": 30.2, "peak_rss_mb": 760.0}}
    costs = stage_costs(tmp_path, record)
    assert costs["train"] == {"wall_s": 43.5, "cpu_s": 41.0, "peak_rss_mb": 848.5}
    assert costs["evaluate"] == {"wall_s": 18.0, "cpu_s": 30.2, "peak_rss_mb": 760.0}


def test_runs_from_before_jobs_measured_cpu_fall_back_to_the_benchmark(tmp_path):
    _benchmark(tmp_path / "train.benchmark.tsv", 43.5, 684.0, 26.0)
    _benchmark(tmp_path / "evaluate.benchmark.tsv", 18.0, 700.0, 26.6)
    record = json.loads(json.dumps({"train": {"cost": {"wall_s": 42.9, "peak_rss_mb": 848.5}},
                                    "cost": {"wall_s": 17.0, "peak_rss_mb": None}}))
    costs = stage_costs(tmp_path, record)
    assert costs["train"] == {"wall_s": 43.5, "cpu_s": 26.0, "peak_rss_mb": 848.5}
    assert costs["evaluate"] == {"wall_s": 18.0, "cpu_s": 26.6, "peak_rss_mb": 700.0}
