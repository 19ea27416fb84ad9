import numpy as np
import pytest

from methods.core.errors import ConfigError
from methods.data.formats import save_arrays
from methods.metalearning.data import OMNIGLOT_SPLIT, load_pools


@pytest.fixture
def omniglot_like(tmp_path):
    """1,623 'characters' of 2 drawers, each image filled with its character index (mod 256) and a
    second channel-free marker row holding index // 256, so a pool's characters can be read back."""
    images = np.zeros((1623, 2, 4, 4), dtype=np.uint8)
    index = np.arange(1623)
    images[:, :, 0, :] = (index % 256)[:, None, None]
    images[:, :, 1, :] = (index // 256)[:, None, None]
    path = tmp_path / "omniglot.npz"
    save_arrays(path, images=images)
    return path


def _characters(pool) -> np.ndarray:
    rows = pool.images[:, 0, 0].numpy().astype(int)
    return rows[:, 0, 0] + 256 * rows[:, 1, 0]


def test_upstream_order_split_sizes_and_trainval_merge(omniglot_like):
    pools = load_pools("omniglot", omniglot_like, {})
    train, val, test = (_characters(pools[name]) for name in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == OMNIGLOT_SPLIT == (1028, 172, 423)
    assert list(train) == list(range(1028)) and list(test) == list(range(1200, 1623))
    merged = load_pools("omniglot", omniglot_like, {"trainval": True})
    assert list(_characters(merged["train"])) == list(range(1200))  # Snell et al. retrain on train + val
    assert list(_characters(merged["test"])) == list(test)


def test_val_classes_keeps_a_fixed_subset_of_validation_characters(omniglot_like):
    a = _characters(load_pools("omniglot", omniglot_like, {"val_classes": 60})["val"])
    b = _characters(load_pools("omniglot", omniglot_like, {"val_classes": 60, "train_classes": 500})["val"])
    assert len(a) == 60 and set(a) <= set(range(1028, 1200)) and list(a) == list(b)
    with pytest.raises(ConfigError) as error:
        load_pools("omniglot", omniglot_like, {"val_classes": 173})
    assert error.value.key == "val_classes"
