import numpy as np
import pytest
import torch

from methods.core.errors import ConfigError
from methods.metalearning import augment, recipes
from methods.metalearning.episodes import EpisodeSampler


def _rng(seed=0):
    return np.random.default_rng(seed)


def test_cutmix_labels_match_the_pasted_area():
    x = torch.zeros(6, 1, 16, 16)
    x[torch.arange(6) % 2 == 1] = 1.0  # odd images are all ones
    y = torch.eye(2)[torch.arange(6) % 2]
    for seed in range(5):
        out, mixed = augment.cutmix(x, y, _rng(seed))
        assert torch.allclose(mixed.sum(1), torch.ones(6))
        # the share of pixels an image keeps from itself equals its own-label weight
        own = (out == x).float().mean((1, 2, 3))
        # (a partner of the same class leaves both the pixels and the label unchanged)
        assert torch.allclose(mixed[torch.arange(6), torch.arange(6) % 2], own, atol=1e-6)


def test_random_erase_probability_zero_is_identity_and_one_erases():
    x = torch.ones(8, 1, 20, 20)
    assert torch.equal(augment.random_erase(x, _rng(), p=0.0), x)
    erased = augment.random_erase(x, _rng(), p=1.0)
    fraction = 1 - erased.mean((1, 2, 3))
    assert ((fraction >= 0.02 - 1e-3) & (fraction <= 0.45)).all()


def test_self_mix_keeps_pixel_values_and_crop_keeps_shape():
    x = torch.rand(4, 1, 10, 10)
    mixed = augment.self_mix(x, _rng())
    assert mixed.shape == x.shape and set(mixed.unique().tolist()) <= set(x.unique().tolist())
    assert augment.random_crop(x, _rng(), padding=2).shape == x.shape
    assert augment.random_rotation(x, _rng()).shape == x.shape


def test_task_rotation_turns_support_and_query_of_a_class_together(pool):
    episode = EpisodeSampler(pool, 5, 2, 3).sample(torch.Generator().manual_seed(0))
    out = recipes.apply(episode, "task:rotation", _rng(3))
    turned = 0
    for c in range(5):
        support, query = out.support[2 * c:2 * c + 2], out.query[3 * c:3 * c + 3]
        for k in range(4):
            s = torch.equal(torch.rot90(episode.support[2 * c:2 * c + 2], k, dims=(-2, -1)), support)
            q = torch.equal(torch.rot90(episode.query[3 * c:3 * c + 3], k, dims=(-2, -1)), query)
            if s:
                assert q
                turned += k > 0
                break
        else:
            pytest.fail(f"class {c} is not a rotation of itself")
    assert torch.equal(out.query_y, episode.query_y)


def test_shot_level_adds_copies_and_query_cutmix_softens_query_labels(pool):
    episode = EpisodeSampler(pool, 3, 2, 4).sample(torch.Generator().manual_seed(0))
    shot = recipes.apply(episode, "shot:flip", _rng())
    assert len(shot.support) == 12 and torch.equal(shot.support[6:], torch.flip(episode.support, (-1,)))
    mixed = recipes.apply(episode, "query:cutmix", _rng())
    assert torch.equal(mixed.support, episode.support)
    assert torch.allclose(mixed.query_y.sum(1), torch.ones(12)) and (mixed.query_y.max(1).values < 1).any()


def test_task_mixing_needs_extra_classes(pool):
    assert recipes.needs_extra_classes(["query:cutmix", "task:mixup"])
    plain = EpisodeSampler(pool, 3, 2, 2).sample(torch.Generator().manual_seed(0))
    with pytest.raises(ConfigError):
        recipes.apply(plain, "task:mixup", _rng())
    extra = EpisodeSampler(pool, 3, 2, 2, extra_way=3).sample(torch.Generator().manual_seed(0))
    out = recipes.apply(extra, "task:cutmix", _rng(1))
    assert out.support.shape == extra.support.shape


@pytest.mark.parametrize("recipe,allowed", [("shoot:flip", "levels"), ("query:sharpen", "ops at level 'query'"),
                                            ("task:erase", "ops at level 'task'")])
def test_unknown_level_or_op_names_what_is_allowed(recipe, allowed):
    with pytest.raises(ConfigError) as error:
        recipes.parse(recipe)
    assert allowed in error.value.allowed


def test_maxup_pool_rejects_m_below_one():
    with pytest.raises(ConfigError) as error:
        recipes.check_pool(("query:cutmix",), 0)
    assert error.value.key == "maxup_m" and "at least 1" in error.value.allowed
