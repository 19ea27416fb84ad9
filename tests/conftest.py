"""Shared fixtures (helpers live in workflowkit.py, importable from every test folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflowkit import copy_workflow


@pytest.fixture
def workflow_dir(tmp_path: Path) -> Path:
    return copy_workflow(tmp_path / "wf")
