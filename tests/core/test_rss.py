"""Resident-memory figures on every OS: Linux /proc, getrusage elsewhere (bytes on macOS), none on Windows.

The fallbacks are forced here by pointing /proc at a missing file and hiding ``resource``."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from methods.core import rss, runner
from methods.pruning.memory import peak_memory


@pytest.fixture
def no_proc(monkeypatch, tmp_path):
    monkeypatch.setattr(rss, "_STATUS", tmp_path / "missing" / "status")
    monkeypatch.setattr(rss, "_CLEAR_REFS", tmp_path / "missing" / "clear_refs")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux-only")
def test_linux_reads_and_resets_the_peak():
    assert rss.status_kib("VmRSS") > 0 and rss.reset_peak()
    assert rss.status_kib("NoSuchField") is None


def test_without_proc_the_lifetime_peak_is_used(no_proc):
    assert rss.status_kib("VmRSS") is None and not rss.reset_peak()
    assert rss.maxrss_kib() > 0
    with peak_memory() as block:
        bytearray(1024)
    assert block["exact"] is False and block["peak_mb"] >= 0


def test_macos_reports_ru_maxrss_in_bytes(monkeypatch):
    if rss.resource is None:
        pytest.skip("no resource module on this OS")
    usage = SimpleNamespace(ru_maxrss=3 * 1024 * 1024)
    monkeypatch.setattr(rss.resource, "getrusage", lambda who: usage)
    monkeypatch.setattr(rss.sys, "platform", "darwin")
    assert rss.maxrss_kib() == 3 * 1024
    monkeypatch.setattr(rss.sys, "platform", "linux")
    assert rss.maxrss_kib() == 3 * 1024 * 1024


def test_windows_has_no_figure_and_nothing_fails(no_proc, monkeypatch):
    monkeypatch.setattr(rss, "resource", None)
    assert rss.maxrss_kib() is None and runner._peak_rss_mb() is None
    with peak_memory() as block:
        bytearray(1024)
    assert block == {"peak_mb": 0.0, "exact": False}
