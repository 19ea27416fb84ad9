"""Preemption: SIGTERM (SLURM's warning before it kills or requeues a job) becomes a flag.

Training loops check :attr:`Preemption.requested` at step boundaries, save a checkpoint there and
raise :class:`Preempted`; when Snakemake runs the job again it resumes from that exact step.
"""

from __future__ import annotations

import signal
import threading

from .errors import EffreproError


class Preempted(EffreproError):
    def __init__(self, run: str, step: int):
        super().__init__(f"run {run}: stopped by SIGTERM after step {step}; checkpoint saved, rerun to resume")


class Preemption:
    """Context manager that records SIGTERM instead of dying on it (main thread only)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def _handler(self, signum, frame) -> None:
        self.requested = True

    def __enter__(self) -> "Preemption":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
