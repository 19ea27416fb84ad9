"""The canonical holdout split: stored at prepare time, identical to computing it, no sklearn in the jobs."""

import subprocess
import sys

import numpy as np

from methods.data import sklearn_sets
from methods.data.formats import load_arrays
from methods.data.holdout import holdout_indices, holdout_split


def _prepared_digits(tmp_path):
    spec = next(s for s in sklearn_sets.DATASETS if s.name == "digits")
    spec.prepare(tmp_path, tmp_path / "digits.npz")
    return tmp_path / "digits.npz"


def test_stored_split_is_the_stratified_80_20_split_and_files_without_it_get_the_same(tmp_path):
    arrays = load_arrays(_prepared_digits(tmp_path))
    train, test = holdout_split(arrays, "digits")
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == len(arrays["y"])
    assert abs(len(test) / len(arrays["y"]) - 0.2) < 0.01
    # stratified: every class keeps its share in the test rows
    shares = np.bincount(arrays["y"][test]) / np.bincount(arrays["y"])
    assert shares.min() > 0.15 and shares.max() < 0.25
    older = {k: v for k, v in arrays.items() if k not in ("train_index", "test_index")}
    for stored, computed in zip((train, test), holdout_split(older, "digits")):
        assert np.array_equal(stored, computed)
    assert not np.array_equal(holdout_indices(arrays["y"], "iris")[1], test)  # the seed is the dataset's


def test_loading_a_prepared_flat_dataset_does_not_import_sklearn(tmp_path):
    path = _prepared_digits(tmp_path)
    code = ("import sys\nfrom methods.baselines.models import load_split\n"
            f"split = load_split('digits', __import__('pathlib').Path({str(path)!r}), {{}})\n"
            "assert split.x_test.shape[0] == 360, split.x_test.shape\n"
            "assert 'sklearn' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)
