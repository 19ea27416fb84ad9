import re

import numpy as np
import pytest

from methods.core.errors import ConfigError
from methods.data.formats import load_arrays
from methods.data.registry import dataset_names, get_dataset


@pytest.mark.parametrize("name", dataset_names())
def test_every_dataset_names_licence_citation_and_hashed_sources(name):
    spec = get_dataset(name)
    assert spec.licence and spec.citation and spec.origin in {"real", "synthetic"}
    for remote in spec.files:  # the SHA-256, or the md5 where upstream publishes only that
        algorithm, digest = remote.checksum
        assert re.fullmatch(r"[0-9a-f]{64}" if algorithm == "sha256" else r"[0-9a-f]{32}", digest), remote.name
        assert all(url.startswith(("https://", "http://")) for url in remote.urls)


def test_unknown_dataset_names_the_key_and_what_exists():
    with pytest.raises(ConfigError, match="dataset.*'imagenet21k'.*digits"):
        get_dataset("imagenet21k")


def test_download_only_datasets_are_marked():
    assert get_dataset("omniglot").needs_download and get_dataset("cifar10").needs_download
    assert not get_dataset("fashion_mnist").needs_download  # Debian ships it
    assert not get_dataset("digits").needs_download  # bundled with scikit-learn


def test_bundled_digits_are_prepared(tmp_path):
    get_dataset("digits").prepare(tmp_path, tmp_path / "digits.npz")
    arrays = load_arrays(tmp_path / "digits.npz")
    assert arrays["x"].shape == (1797, 64) and arrays["x"].dtype == np.float32
    assert sorted(np.unique(arrays["y"])) == list(range(10))
