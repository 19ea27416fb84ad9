"""Issue 16: the official standard augmentation (feat_aug='norm') and input normalization in every
glyph arm, and Meta-MaxUp's m copies (RenkunNi/MetaAug @ 79d1a6a: train_maxup.py --m 4)."""

import numpy as np
import pytest
import torch

from methods.core.errors import ConfigError
from methods.metalearning import augment, maxup, recipes, study, training
from methods.metalearning.backbones import Conv4
from methods.metalearning.data import channel_statistics
from methods.metalearning.episodes import ClassPool, EpisodeSampler
from methods.metalearning.heads import ProtoNetHead
from methods.metalearning.jobs import episodic_config
from methods.metalearning.training import EpisodicConfig, train_episodic


def _half_black_pool(channels=1, classes=6, per_class=8, size=12):
    """Every image is black on its left half and white on its right: per-channel mean 0.5, std 0.5."""
    images = torch.zeros(classes, per_class, channels, size, size, dtype=torch.uint8)
    images[..., size // 2:] = 255
    return images


def test_channel_statistics_by_hand():
    mean, std = channel_statistics(_half_black_pool(channels=3))
    assert mean == pytest.approx((0.5,) * 3) and std == pytest.approx((0.5,) * 3)


def test_normalized_pool_items_are_minus_one_and_one_and_erasing_paints_the_mean():
    images = _half_black_pool()
    pool = ClassPool(images, name="halves", mean=(0.5,), std=(0.5,))
    episode = EpisodeSampler(pool, 3, 2, 2).sample(torch.Generator().manual_seed(0))
    assert set(episode.query.unique().tolist()) == {-1.0, 1.0}  # black -> (0 - .5)/.5, white -> (1 - .5)/.5
    erased = augment.random_erase(episode.query, np.random.default_rng(0), p=1.0)
    painted = erased != episode.query
    assert painted.any() and torch.equal(erased[painted], torch.zeros(int(painted.sum())))
    # 0 after normalization is the training mean (0.5) in [0, 1] units, not black
    assert pool.normalize(torch.full((1, 1, 2, 2), 0.5)).abs().max() == 0
    # a constant image at the mean, erased, is still all zeros once normalized
    flat = pool.normalize(torch.full((4, 1, 12, 12), 0.5))
    assert torch.equal(augment.random_erase(flat, np.random.default_rng(1), p=1.0), flat)


def test_an_unnormalized_pool_is_unchanged():
    images = _half_black_pool()
    pool = ClassPool(images)
    x = pool.gather(torch.tensor([0]), torch.tensor([[0]]))
    assert set(x.unique().tolist()) == {0.0, 1.0}


def test_standard_flips_only_where_allowed_and_never_jitters_grey():
    x = torch.rand(64, 1, 10, 10)
    assert torch.equal(augment.standard(x, np.random.default_rng(0), padding=0, flip=False), x)
    out = augment.standard(x, np.random.default_rng(0), padding=0, flip=True)
    same = (out == x).flatten(1).all(1)
    mirrored = (out == x.flip(-1)).flatten(1).all(1)
    assert (same | mirrored).all() and same.any() and mirrored.any()


def test_standard_crop_shifts_content_within_the_padding():
    x = torch.zeros(16, 1, 12, 12)
    x[:, :, 5, 5] = 1.0  # one lit pixel, far enough from the border to survive any 3-px shift
    out = augment.standard(x, np.random.default_rng(0), padding=3, flip=False)
    assert torch.equal(out.flatten(1).sum(1), torch.ones(16))
    rows, cols = (out[:, 0] == 1).nonzero()[:, 1], (out[:, 0] == 1).nonzero()[:, 2]
    assert ((rows - 5).abs() <= 3).all() and ((cols - 5).abs() <= 3).all()
    assert len(set(zip(rows.tolist(), cols.tolist()))) > 1


def test_colour_jitter_on_a_grey_constant_image_is_brightness_only():
    # saturation and contrast leave an R = G = B constant image as it is; brightness scales it by [0.6, 1.4]
    x = torch.full((32, 3, 4, 4), 0.5)
    out = augment.color_jitter(x, np.random.default_rng(0), 0.4)
    scale = out[:, 0, 0, 0] / 0.5
    assert torch.allclose(out, out[:, :1, :1, :1].expand_as(out))
    assert (scale >= 0.6 - 1e-6).all() and (scale <= 1.4 + 1e-6).all() and scale.std() > 0.05
    with pytest.raises(ValueError):
        augment.color_jitter(torch.zeros(2, 1, 4, 4), np.random.default_rng(0))


@pytest.mark.parametrize("setting", ["baseline", "maxup"])
def test_standard_augmentation_runs_in_both_arms(tmp_path, monkeypatch, setting):
    calls = []
    original = augment.standard

    def spy(x, rng, padding, flip, jitter=0.4):
        calls.append((x.shape[0], padding, flip))
        return original(x, rng, padding, flip, jitter)

    monkeypatch.setattr(augment, "standard", spy)
    images = (torch.rand(8, 10, 1, 16, 16, generator=torch.Generator().manual_seed(0)) * 255).to(torch.uint8)
    params = {"episodes": 3, "n_way": 3, "k_shot": 2, "n_query": 2, "feat_aug": "norm", "crop_padding": 2,
              "hflip": False, "maxup_m": 4}
    config = episodic_config(params, setting, study.SETTINGS, ("query:erase", "task:rotation"))
    assert config.feat_aug == "norm" and config.uses_maxup == (setting == "maxup")
    torch.manual_seed(0)
    train_episodic(Conv4(1, 4), ProtoNetHead(), ClassPool(images, mean=(0.5,), std=(0.25,)), config, 0, "t",
                   tmp_path / "ck.pt")
    assert calls == [(3 * 4, 2, False)] * 3  # once per episode, on all its images, before any recipe


def test_every_glyph_arm_has_standard_augmentation_and_paper_m_four():
    for scale in ("smoke", "laptop", "paper"):
        glyphs = study._SCALES[scale]["glyphs"]
        assert glyphs["feat_aug"] == "norm" and glyphs["normalize"] and glyphs["hflip"] is False
    for name, padding in (("cifar_fs", 4), ("fc100", 4), ("mini_imagenet", 8)):
        params = study._SCALES["paper"][name]
        assert (params["feat_aug"], params["crop_padding"], params["hflip"], params["maxup_m"]) == ("norm", padding,
                                                                                                    True, 4)
    assert study._SCALES["laptop"]["glyphs"]["maxup_m"] == study.LAPTOP_MAXUP_M == 4
    runs = [r for r in study.STUDY.grid("laptop", 1) if r.dataset == "glyphs"]
    assert {r.setting for r in runs} >= {"baseline", "maxup"}
    assert all(r.params["feat_aug"] == "norm" and r.params["normalize"] for r in runs)
    # Omniglot's ProtoNet runs reproduce Snell et al. 2017, who neither augment nor normalize; its Meta-MaxUp
    # and augmentation-mode runs get the standard augmentation in every arm, as the glyphs do
    omniglot = [r for r in study.STUDY.grid("laptop", 1) if r.dataset == "omniglot"]
    assert all("feat_aug" not in r.params for r in omniglot if r.setting in ("1shot", "5shot"))
    assert all(r.params["feat_aug"] == "norm" and r.params["normalize"] for r in omniglot
               if r.setting not in ("1shot", "5shot"))


def test_meta_maxup_draws_m_copies(monkeypatch, pool):
    drawn = []
    original = recipes.apply

    def spy(episode, recipe, rng):
        drawn.append(recipe)
        return original(episode, recipe, rng)

    monkeypatch.setattr(recipes, "apply", spy)
    episode = EpisodeSampler(pool, 4, 2, 3).sample(torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    backbone, head = Conv4(1, 8).eval(), ProtoNetHead()
    copies = [episode] * 4
    losses, logits = maxup.copy_losses(backbone, head, copies)
    assert losses.shape == (4, 12) and logits.shape == (4, 12, 4)
    maxup.meta_maxup_loss(backbone, head, episode, study.MAXUP_POOL, 4, np.random.default_rng(0))
    assert len(drawn) == 4 and set(drawn) <= set(study.MAXUP_POOL)


def test_bad_standard_augmentation_settings_name_the_key():
    with pytest.raises(ConfigError) as error:
        EpisodicConfig(episodes=1, feat_aug="autoaugment")
    assert error.value.key == "feat_aug"
    with pytest.raises(ConfigError) as error:
        EpisodicConfig(episodes=1, crop_padding=-1)
    assert error.value.key == "crop_padding"
