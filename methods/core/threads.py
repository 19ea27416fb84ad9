"""Threads: jobs that run at once never ask for more threads than the machine has cores.

``snakemake --cores 8`` on a 2-core machine would start eight 1-thread jobs at once: four
processes per core, each importing torch and timing its models on a quarter of a core (measured on
the smoke scale: 42 CPU s more and 23 s longer than ``--cores 2``). So when Snakemake is promised
more cores than exist, each job *reserves* its threads times the overcommit (``reserved_threads``,
used by the rules' ``threads:``), which lets at most a machine's worth of threads run at once, and
the job maps its reservation back onto real threads (``effective_threads``): on 2 cores with
``--cores 8`` a 1-thread rule reserves 4 and runs 1 thread, a 2-thread rule reserves 8 and runs 2.
"""

from __future__ import annotations

import os
import sys

WORKFLOW_CORES_ENV = "EFFREPRO_WORKFLOW_CORES"
_BLAS_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


def available_cores() -> int:
    """Cores this process may run on (the CPU affinity set, which SLURM and taskset restrict)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def reserved_threads(rule_threads: int, workflow_cores: int | None, cores: int | None = None) -> int:
    """Threads a job asks Snakemake for: its rule's, times ``workflow_cores / cores`` when Snakemake
    was given more cores than the machine has (capped at ``workflow_cores``)."""
    cores = cores or available_cores()
    threads = max(1, int(rule_threads))
    if not workflow_cores or workflow_cores <= cores:
        return threads
    return min(workflow_cores, max(threads, threads * workflow_cores // cores))


def effective_threads(rule_threads: int, workflow_cores: int | None = None, cores: int | None = None) -> int:
    """Threads a job uses: the reservation it was given scaled back to the machine's cores."""
    cores = cores or available_cores()
    threads = max(1, int(rule_threads))
    if workflow_cores and workflow_cores > cores:
        threads = max(1, (threads * cores) // workflow_cores)
    return min(threads, cores)


def apply_threads(rule_threads: int) -> int:
    """Set torch and BLAS thread counts for this process; returns the count used.

    torch sizes its thread pool from ``OMP_NUM_THREADS`` when it is first imported, so a job that
    never needs torch (scoring saved predictions) does not pay its 1.4 s import here; if torch is
    already loaded its count is set directly.
    """
    workflow_cores = os.environ.get(WORKFLOW_CORES_ENV)
    threads = effective_threads(rule_threads, int(workflow_cores) if workflow_cores else None)
    for name in _BLAS_VARIABLES:
        os.environ[name] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    return threads
