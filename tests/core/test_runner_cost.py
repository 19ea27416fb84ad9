"""A job measures its own CPU time per stage (issue 22): exact, where Snakemake's benchmark samples."""

import os
import time

from methods.core import runner


def _busy(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


TICK_S = 1 / os.sysconf("SC_CLK_TCK")  # os.times counts whole clock ticks (10 ms on Linux)


def test_each_stage_is_charged_the_cpu_since_the_previous_stage_ended():
    runner._cost(time.perf_counter())  # everything before: the first stage's (interpreter, imports)
    start = time.perf_counter()
    _busy(0.3)
    second = runner._cost(start)
    assert 0.3 - 2 * TICK_S <= second["cpu_s"] < 0.6
    assert second["wall_s"] >= 0.3 and second["peak_rss_mb"] > 10
    time.sleep(0.2)  # waiting costs wall time, not CPU
    third = runner._cost(start)
    assert third["cpu_s"] < 0.1 and third["wall_s"] >= 0.5
