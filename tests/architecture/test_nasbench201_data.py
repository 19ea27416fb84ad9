"""The shipped NAS-Bench-201 copy: provenance, content, and the #params proxy's rank correlation."""

import os
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from methods.architecture import nb201
from methods.core.errors import DataError
from methods.data import nasbench201
from methods.data.registry import get_dataset

MIRROR = Path(os.environ.get("EFFREPRO_MIRROR", "/work/shared/data").split()[0]) / "nasbench201"


def test_registered_offline_with_provenance():
    spec = get_dataset("nasbench201")
    assert not spec.needs_download
    assert "MIT" in spec.licence and "Apache-2.0" in spec.licence
    assert {f.name for f in spec.extra["upstream"]} == {r.name for r in nasbench201.UPSTREAM.values()}


def test_shipped_copy_content():
    archs, acc = nasbench201.read_shipped()
    assert len(archs) == len(set(archs)) == 15625
    assert set(map(nb201.parse_cell, archs)) == set(nb201.all_cells())
    # cifar10-valid: best test accuracy 91.52 (NB201's half-training-set setting, not 94.37)
    assert acc["cifar10-valid"].max() == pytest.approx(91.5233, abs=1e-3)
    assert acc["cifar100"].max() == pytest.approx(73.5133, abs=1e-3)
    assert acc["ImageNet16-120"].max() == pytest.approx(47.3111, abs=1e-3)


def test_params_proxy_spearman_over_all_cells():
    """#params proxy 9 #conv3x3 + #conv1x1 (ranks like the exact parameter count): rho 0.719 on all 15,625."""
    archs, acc = nasbench201.read_shipped()
    cells = [nb201.parse_cell(a) for a in archs]
    proxy = np.array([9 * c.count("nor_conv_3x3") + c.count("nor_conv_1x1") for c in cells])
    convs = np.array([c.count("nor_conv_3x3") + c.count("nor_conv_1x1") for c in cells])
    assert spearmanr(proxy, acc["cifar10-valid"])[0] == pytest.approx(0.719005, abs=1e-6)
    assert spearmanr(convs, acc["cifar10-valid"])[0] == pytest.approx(0.704595, abs=1e-6)


def test_tampered_copy_is_refused(tmp_path):
    bad = tmp_path / "nb.csv.gz"
    bad.write_bytes(nasbench201.SHIPPED.read_bytes()[:-10])
    with pytest.raises(DataError, match="SHA-256"):
        nasbench201.read_shipped(bad)


@pytest.mark.skipif(not MIRROR.exists(), reason="NB201 CSV mirror not present")
def test_compact_rebuilds_shipped_copy_from_upstream(tmp_path):
    out = tmp_path / "nasbench201.csv.gz"
    nasbench201.compact(MIRROR, out)
    assert out.read_bytes() == nasbench201.SHIPPED.read_bytes()
