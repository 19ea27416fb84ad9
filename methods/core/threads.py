"""Threads: each job uses the threads its rule was given, and never more than its share of cores.

``snakemake --cores 8`` on a 2-core machine runs up to four 2-thread jobs at once; if each used 2
threads the machine would run 8 busy threads on 2 cores, and torch's spinning OpenMP workers make
that several times slower than running them one after another. So a job's threads are scaled by
``available cores / cores Snakemake was given`` when Snakemake was promised more cores than exist.
"""

from __future__ import annotations

import os

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


def effective_threads(rule_threads: int, workflow_cores: int | None = None, cores: int | None = None) -> int:
    """Threads a job should use: its rule's, scaled down when Snakemake overcommits the cores."""
    cores = cores or available_cores()
    threads = max(1, int(rule_threads))
    if workflow_cores and workflow_cores > cores:
        threads = max(1, (threads * cores) // workflow_cores)
    return min(threads, cores)


def apply_threads(rule_threads: int) -> int:
    """Set torch and BLAS thread counts for this process; returns the count used."""
    workflow_cores = os.environ.get(WORKFLOW_CORES_ENV)
    threads = effective_threads(rule_threads, int(workflow_cores) if workflow_cores else None)
    for name in _BLAS_VARIABLES:
        os.environ[name] = str(threads)
    import torch

    torch.set_num_threads(threads)
    return threads
