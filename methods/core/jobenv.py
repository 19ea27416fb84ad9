"""Settings the workflow hands its jobs through the environment instead of ``params:``.

Changing ``--cores``, the download switch or the mirror list must never re-run finished work, which
a change of ``params`` would (Snakemake's params rerun trigger). Jobs inherit the environment of
the Snakemake process (and re-evaluate the Snakefile on a cluster node, setting it again there).
"""

from __future__ import annotations

import os

from .threads import WORKFLOW_CORES_ENV

DOWNLOAD_ENV = "EFFREPRO_DOWNLOAD"
CONFIG_MIRRORS_ENV = "EFFREPRO_CONFIG_MIRRORS"


def export(config: dict, workflow_cores: int | None) -> None:
    if workflow_cores:
        os.environ[WORKFLOW_CORES_ENV] = str(workflow_cores)
    os.environ[DOWNLOAD_ENV] = "1" if config.get("download") else "0"
    os.environ[CONFIG_MIRRORS_ENV] = " ".join(config.get("mirrors") or [])


def download_allowed() -> bool:
    return os.environ.get(DOWNLOAD_ENV) == "1"


def config_mirrors() -> list[str]:
    return os.environ.get(CONFIG_MIRRORS_ENV, "").split()
