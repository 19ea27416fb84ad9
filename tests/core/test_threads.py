import subprocess
import sys

from methods.core import threads
from methods.core.threads import effective_threads, reserved_threads


def test_available_cores_without_sched_getaffinity(monkeypatch):
    """macOS and Windows have no CPU affinity call: the core count is os.cpu_count() (or 1)."""
    monkeypatch.delattr(threads.os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 6)
    assert threads.available_cores() == 6
    monkeypatch.setattr(threads.os, "cpu_count", lambda: None)
    assert threads.available_cores() == 1


def test_rule_threads_are_kept_when_cores_are_not_overcommitted():
    assert effective_threads(2, workflow_cores=2, cores=2) == 2
    assert effective_threads(1, workflow_cores=2, cores=2) == 1
    assert reserved_threads(2, workflow_cores=2, cores=2) == 2
    assert reserved_threads(1, workflow_cores=None, cores=2) == 1


def test_threads_scale_down_when_snakemake_is_given_more_cores_than_exist():
    assert effective_threads(2, workflow_cores=8, cores=2) == 1
    assert effective_threads(8, workflow_cores=8, cores=2) == 2


def test_overcommitted_jobs_reserve_their_share_so_at_most_the_machine_runs_at_once():
    # snakemake --cores 8 on 2 cores: a 1-thread job reserves 4 of the 8 (two run at once, 1 thread
    # each); a 2-thread job reserves all 8 (it runs alone, on 2 threads)
    for rule_threads, reserved, runs_on in ((1, 4, 1), (2, 8, 2), (4, 8, 2)):
        assert reserved_threads(rule_threads, workflow_cores=8, cores=2) == reserved
        assert effective_threads(reserved, workflow_cores=8, cores=2) == runs_on
    for rule_threads in (1, 2, 3, 4):  # the threads of the jobs Snakemake can fit never exceed the cores
        reserved = reserved_threads(rule_threads, workflow_cores=8, cores=2)
        assert (8 // reserved) * effective_threads(reserved, workflow_cores=8, cores=2) <= 2


def test_threads_never_exceed_the_machine():
    assert effective_threads(16, workflow_cores=None, cores=2) == 2
    assert effective_threads(0, workflow_cores=None, cores=2) == 1


def test_applied_threads_hold_for_torch_imported_before_or_after():
    code = ("import os, sys\nos.environ['EFFREPRO_WORKFLOW_CORES'] = '2'\n"
            "from methods.core.threads import apply_threads\n"
            "assert apply_threads(1) == 1 and 'torch' not in sys.modules\n"
            "import torch\nassert torch.get_num_threads() == 1, torch.get_num_threads()\n"
            "os.environ['EFFREPRO_WORKFLOW_CORES'] = '1'\n"
            "assert apply_threads(1) == 1 and torch.get_num_threads() == 1\n")
    subprocess.run([sys.executable, "-c", code], check=True)
