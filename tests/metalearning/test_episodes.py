import pytest
import torch

from methods.core.errors import ConfigError
from methods.metalearning.episodes import ClassPool, EpisodeSampler, embed_pool, fixed_episodes


def test_episode_shapes_labels_and_disjoint_support_query(pool):
    sampler = EpisodeSampler(pool, n_way=4, k_shot=3, n_query=2)
    classes, order = sampler.draw(torch.Generator().manual_seed(1))
    assert len(set(classes.tolist())) == 4
    for row in order:  # support and query images of a class are distinct images
        assert len(set(row.tolist())) == 5
    episode = sampler.sample(torch.Generator().manual_seed(1))
    assert episode.support.shape == (12, 1, 16, 16) and episode.query.shape == (8, 1, 16, 16)
    assert episode.support_y.sum(0).tolist() == [3.0] * 4
    assert episode.query_labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert 0.0 <= episode.support.min() and episode.support.max() <= 1.0


def test_same_seed_same_episodes_other_seed_other_episodes(pool):
    first = [e.support for e in fixed_episodes(pool, 5, 1, 3, 4, seed=7)]
    again = [e.support for e in fixed_episodes(pool, 5, 1, 3, 4, seed=7)]
    other = [e.support for e in fixed_episodes(pool, 5, 1, 3, 4, seed=8)]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not all(torch.equal(a, b) for a, b in zip(first, other))


def test_rotation_classes_are_rotated_copies(pool):
    rotated = ClassPool(pool.images, rotations=True)
    assert rotated.n_classes == 4 * pool.n_classes
    idx = torch.arange(3)[None]
    plain = rotated.gather(torch.tensor([8]), idx)  # class 2, no turn
    turned = rotated.gather(torch.tensor([9]), idx)  # class 2, one quarter turn
    assert torch.equal(torch.rot90(plain, 1, dims=(-2, -1)), turned)


def test_embedded_pool_gives_the_same_episodes_as_the_images(pool):
    flat = lambda x: x.flatten(1)  # noqa: E731 - any per-image map
    features = embed_pool(flat, pool)
    for images, embedded in zip(fixed_episodes(pool, 3, 2, 2, 3, 5), fixed_episodes(features, 3, 2, 2, 3, 5)):
        assert torch.equal(flat(images.support), embedded.support)
        assert torch.equal(flat(images.query), embedded.query)


@pytest.mark.parametrize("kwargs,key", [
    ({"n_way": 13, "k_shot": 1, "n_query": 1}, "n_way"),
    ({"n_way": 5, "k_shot": 8, "n_query": 3}, "k_shot"),
    ({"n_way": 5, "k_shot": 0, "n_query": 3}, "k_shot"),
])
def test_requests_beyond_the_split_name_the_setting_and_limit(pool, kwargs, key):
    with pytest.raises(ConfigError) as error:
        EpisodeSampler(pool, **kwargs)
    assert error.value.key == key
    assert "12" in error.value.allowed or "10" in error.value.allowed or "at least 1" in error.value.allowed
