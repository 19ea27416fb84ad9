"""Deliberate faults for the fault-tolerance tests; inert unless the environment asks for one.

``EFFREPRO_FAIL_ONCE=<stage>:<run id>:<marker file>`` makes that stage (``train`` or
``evaluate``) of that run fail on its first attempt, creating the marker file, and succeed on any
later attempt: the transient failure that Snakemake's ``--retries`` and SLURM requeues are for.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import EffreproError

FAIL_ONCE_ENV = "EFFREPRO_FAIL_ONCE"


class InjectedFault(EffreproError):
    """The failure asked for by ``EFFREPRO_FAIL_ONCE``."""


def maybe_fail(stage: str, run_id: str) -> None:
    request = os.environ.get(FAIL_ONCE_ENV)
    if not request:
        return
    wanted_stage, wanted_run, marker = request.split(":", 2)
    if (wanted_stage, wanted_run) == (stage, run_id) and not Path(marker).exists():
        Path(marker).touch()
        raise InjectedFault(f"injected failure of {stage} for run {run_id} (first attempt)")
