"""AlgoPerf's scoring on hand-made curves: time to target, tuning cost, profiles and score."""

import math

import pytest

from methods.optimizers import algoperf, jobs


def _run(vals, final=None, gflops_per_step=1.0):
    curve = [{"step": 10 * (i + 1), "gflops": 10 * (i + 1) * gflops_per_step, "cpu_s": float(i + 1), "val": v}
             for i, v in enumerate(vals)]
    return {"curve": curve, "final_val": vals[-1] if final is None else final, "lr": len(vals)}


def test_reach_is_the_first_evaluation_at_the_target_or_infinite():
    run = _run([0.5, 0.3, 0.2, 0.25])
    assert algoperf.reach(run["curve"], 0.3, "step") == 20
    assert algoperf.reach(run["curve"], 0.3, "cpu_s") == 2.0
    assert math.isinf(algoperf.reach(run["curve"], 0.1, "step"))


def test_target_is_the_median_of_the_tuned_finals():
    grids = [[_run([0.4]), _run([0.3])], [_run([0.2]), _run([0.5])], [_run([0.6]), _run([0.7])]]
    assert algoperf.target(grids) == pytest.approx(0.3)  # tuned finals 0.3, 0.2, 0.6


def test_grid_time_is_the_fastest_trial_and_cost_charges_every_trial():
    trials = [_run([0.5, 0.4, 0.3]), _run([0.3, 0.2, 0.1]), _run([0.9, 0.9, 0.9])]
    assert algoperf.grid_time(trials, 0.3, "gflops") == 10.0
    # trial 1 stops at 30, trial 2 at 10, trial 3 never reaches and runs its whole 30
    assert algoperf.grid_cost(trials, 0.3, "gflops") == 70.0
    assert math.isinf(algoperf.grid_cost(trials, 0.05, "gflops"))


def test_profile_and_score_follow_the_definitions():
    times = {"a": {"w1": 1.0, "w2": 2.0}, "b": {"w1": 2.0, "w2": 1.0}, "c": {"w1": 8.0, "w2": math.inf}}
    rho = algoperf.profile(times, [1.0, 2.0, 4.0])
    assert rho["a"].tolist() == [0.5, 1.0, 1.0]
    assert rho["c"].tolist() == [0.0, 0.0, 0.0]  # ratio 8 beyond r_max; a failure never counts
    score = algoperf.score(times)
    # a: ratios (1, 2): areas (3 + 2) / (2 workloads x 3)
    assert score["a"] == pytest.approx(5 / 6) and score["b"] == pytest.approx(5 / 6) and score["c"] == 0.0


def test_score_rows_charge_samuel_one_run_and_adam_its_grid():
    goal = 0.3
    adam = [_run([0.5, 0.4, 0.3]), _run([0.3, 0.2, 0.1])]
    samuel = _run([0.4, 0.3, 0.2], gflops_per_step=2.0)  # k = 2 experts: twice the FLOPs per step
    a, s = jobs._time_rows("adam", adam, goal), jobs._time_rows("samuel", samuel, goal)
    assert (a["step"], a["gflops"], a["tuned_gflops"], a["reached"]) == (10, 10.0, 40.0, 1.0)
    assert (s["step"], s["gflops"], s["tuned_gflops"]) == (20, 40.0, 40.0)


def test_recovery_counts_steps_after_the_shift_and_censors_at_the_horizon():
    run = _run([0.2, 0.9, 0.5, 0.25])  # shift after step 10
    assert jobs._recovery(run, 0.3, 10) == (30, True)
    assert jobs._recovery(_run([0.2, 0.9, 0.9]), 0.3, 10) == (20.0, False)


def test_a_continuation_run_reaches_the_target_only_on_the_workload_network():
    curve = [{"step": 10, "val": 0.1, "lam": 0.5}, {"step": 20, "val": 0.2, "lam": 1.0}]
    assert algoperf.reach(curve, 0.25, "step") == 20
    assert math.isinf(algoperf.reach(curve[:1], 0.25, "step"))
