"""Large freed blocks stay in the heap, so a forward pass reuses them instead of faulting in fresh
pages (methods/core/heap.py)."""

import os
import subprocess
import sys

import pytest

from methods.core import heap

# a 2-layer CNN's forward passes over 256 Fashion-MNIST-sized images: the second activation (51 MiB)
# is above glibc's largest mmap threshold (32 MiB)
_FAULTS_PER_PASS = """
import resource, sys, torch
from methods.core import heap
applied = heap.keep_freed_memory() if sys.argv[1] == "keep" else False
torch.manual_seed(0)
torch.set_num_threads(1)
net = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(),
                          torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU())
x = torch.randn(256, 1, 28, 28)
faults = []
with torch.no_grad():
    for _ in range(8):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        net(x).sum()
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(applied, sum(faults[1:]))
"""


def _faults(mode: str, **env) -> tuple[bool, int]:
    """Whether the settings applied, and the page faults of passes 2-8 (the first one faults in either way)."""
    clean = {k: v for k, v in os.environ.items() if k not in (*heap.USER_SETTINGS, heap.OPT_OUT[0])}
    out = subprocess.run([sys.executable, "-c", _FAULTS_PER_PASS, mode], env={**clean, **env},
                         capture_output=True, text=True, check=True).stdout.split()
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(heap.glibc_function("mallopt") is None, reason="not glibc: the heap settings do not apply")
def test_forward_passes_reuse_freed_heap_instead_of_faulting_in_new_pages():
    applied, kept = _faults("keep")
    _, fresh = _faults("glibc")
    pages = 51 * 2**20 // os.sysconf("SC_PAGE_SIZE")
    assert applied
    assert fresh > 7 * pages * 0.9  # glibc as it comes: the large activation is mapped anew in every pass
    assert kept < 0.25 * fresh


@pytest.mark.parametrize("setting", [{"MALLOC_TRIM_THRESHOLD_": "131072"}, {"EFFREPRO_HEAP": "glibc"}])
def test_the_users_own_choice_wins(setting):
    applied, _ = _faults("keep", **setting)
    assert not applied


_PEAK_OF_A_BLOCK = """
import contextlib, sys, torch
from methods.core import heap
from methods.pruning import memory
heap.keep_freed_memory()
if sys.argv[1] == "without":
    heap.returning_freed_memory = contextlib.nullcontext
with memory.peak_memory() as result:
    for _ in range(4):
        torch.empty(25 * 2**20).fill_(1.0)  # 100 MiB held at a time
print(result["peak_mb"])
"""


def _peak(mode: str) -> float:
    clean = {k: v for k, v in os.environ.items() if k not in (*heap.USER_SETTINGS, heap.OPT_OUT[0])}
    out = subprocess.run([sys.executable, "-c", _PEAK_OF_A_BLOCK, mode], env=clean, capture_output=True, text=True,
                         check=True).stdout
    return float(out)


@pytest.mark.skipif(heap.glibc_function("mallopt") is None or not os.path.exists("/proc/self/clear_refs"),
                    reason="needs glibc and Linux's resettable peak RSS")
def test_a_peak_memory_block_counts_what_it_holds_not_what_the_heap_keeps():
    assert 95 <= _peak("with") <= 130  # 100 MiB at a time
    assert _peak("without") > 200  # the kept heap would have counted freed blocks again
