import numpy as np
import pytest
import torch

from methods.core.errors import ConfigError
from methods.metalearning.backbones import Conv4, DropBlock, ResNet12
from methods.metalearning.evaluation import embedded, few_shot_accuracies
from methods.metalearning.heads import ProtoNetHead
from methods.metalearning.maxup import copy_losses, meta_maxup_loss, recipe_loss
from methods.metalearning.episodes import EpisodeSampler
from methods.metalearning.training import EpisodicConfig, train_episodic


def test_backbone_feature_sizes_match_the_papers():
    assert Conv4(1, 64)(torch.zeros(2, 1, 28, 28)).shape == (2, 64)
    assert Conv4(3, 64)(torch.zeros(2, 3, 84, 84)).shape == (2, 1600)
    net = ResNet12(3, drop_block=2).eval()
    assert net(torch.zeros(1, 3, 32, 32)).shape == (1, 640 * 2 * 2)


def test_dropblock_drops_blocks_in_training_only():
    torch.manual_seed(0)
    block = DropBlock(0.3, 3)
    x = torch.ones(4, 8, 10, 10)
    assert torch.equal(block.eval()(x), x)
    out = block.train()(x)
    assert (out == 0).float().mean() > 0.1 and torch.isclose(out.mean(), torch.tensor(1.0), atol=0.05)


def test_meta_maxup_takes_the_per_query_max_over_copies(pool):
    torch.manual_seed(0)
    backbone, head = Conv4(1, 8), ProtoNetHead()
    episode = EpisodeSampler(pool, 4, 2, 3).sample(torch.Generator().manual_seed(0))
    pool_recipes = ("query:erase", "query:cutmix", "none")
    loss, _ = meta_maxup_loss(backbone.eval(), head, episode, pool_recipes, 3, np.random.default_rng(5))
    # replay the same copies: the loss is the mean of the element-wise max, at least every copy's mean
    from methods.metalearning import recipes

    rng = np.random.default_rng(5)
    copies = [recipes.apply(episode, pool_recipes[int(rng.integers(3))], rng) for _ in range(3)]
    losses, _ = copy_losses(backbone, head, copies)
    assert torch.isclose(loss, losses.max(0).values.mean())
    assert loss >= losses.mean(1).max() - 1e-6
    one, _ = recipe_loss(backbone, head, episode, "none", np.random.default_rng(0))
    single, _ = meta_maxup_loss(backbone, head, episode, ("none",), 1, np.random.default_rng(0))
    assert torch.isclose(one, single)


def _train(pool, episodes, checkpoint, **kwargs):
    torch.manual_seed(0)
    backbone, head = Conv4(1, 8), ProtoNetHead()
    config = EpisodicConfig(episodes=episodes, n_way=4, k_shot=2, n_query=3, checkpoint_every=10, **kwargs)
    summary = train_episodic(backbone, head, pool, config, 0, "test", checkpoint)
    return backbone, head, summary


def test_training_learns_new_classes_above_chance(tmp_path, make_pool):
    train, test = make_pool(seed=0), make_pool(seed=1)
    backbone, head, summary = _train(train, 60, tmp_path / "ck.pt", lr=0.05)
    accuracy = np.mean(few_shot_accuracies(head, embedded(backbone, test), 4, 1, 3, 40, seed=2))
    assert summary["loss_curve"][-1] < summary["loss_curve"][0]
    assert accuracy > 50  # chance is 25%


def test_resume_from_checkpoint_is_exact(tmp_path, pool):
    full, _, _ = _train(pool, 20, tmp_path / "a.pt", augment="query:cutmix")
    (tmp_path / "b.pt").unlink(missing_ok=True)
    # stop after the first checkpoint (10 episodes), then resume to 20
    import methods.metalearning.training as training

    with pytest.raises(KeyboardInterrupt):
        original = training.meta_maxup_loss, training.recipe_loss
        calls = {"n": 0}

        def interrupted(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] > 12:
                raise KeyboardInterrupt
            return original[1](*args, **kwargs)

        training.recipe_loss = interrupted
        try:
            _train(pool, 20, tmp_path / "b.pt", augment="query:cutmix")
        finally:
            training.recipe_loss = original[1]
    resumed, _, summary = _train(pool, 20, tmp_path / "b.pt", augment="query:cutmix")
    assert summary["resumed_at"] == 10
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def test_snell_schedule_halves_the_adam_rate_every_2000_episodes(tmp_path, pool):
    config = EpisodicConfig(episodes=6000, optimizer="adam", lr=1e-3, weight_decay=0.0, lr_halve_every=2000)
    assert [config.lr_factor(step) for step in (0, 1999, 2000, 3999, 4000, 5999)] == [1, 1, 0.5, 0.5, 0.25, 0.25]
    backbone, head = Conv4(1, 8), ProtoNetHead(scaled=False)
    short = EpisodicConfig(episodes=4, n_way=3, k_shot=1, n_query=2, optimizer="adam", lr=1e-3, weight_decay=0.0,
                           lr_halve_every=2, checkpoint_every=100)
    before = [p.detach().clone() for p in backbone.parameters()]
    train_episodic(backbone, head, pool, short, 0, "adam", tmp_path / "ck.pt")
    # Adam's first steps move every weight that has a gradient by about lr, whatever the gradient's size
    moved = torch.cat([(p.detach() - b).abs().flatten() for p, b in zip(backbone.parameters(), before)])
    assert 1e-4 < moved.max() <= 4 * 1e-3 + 1e-6


@pytest.mark.parametrize("episodes,every,points", [(6, 2, [2, 4, 6]), (7, 3, [3, 6, 7])])
def test_validation_curve_is_recorded_on_val_way_episodes(tmp_path, make_pool, episodes, every, points):
    # the last episode is validated too where it falls between validation points (before, a model trained
    # after the last multiple of validate_every was never validated, so it could not be kept)
    config = EpisodicConfig(episodes=episodes, n_way=3, k_shot=1, n_query=2, optimizer="adam", lr=1e-3,
                            weight_decay=0.0, validate_every=every, val_episodes=4, val_way=4, val_shot=1, val_query=3,
                            checkpoint_every=100)
    summary = train_episodic(Conv4(1, 8), ProtoNetHead(scaled=False), make_pool(seed=0), config, 0, "curve",
                             tmp_path / "ck.pt", val_pool=make_pool(seed=1))
    assert [episode for episode, _ in summary["validation"]] == points
    assert summary["kept_episode"] == max(summary["validation"], key=lambda point: point[1])[0]
    # 4-way episodes with 3 queries: every accuracy is a multiple of 100 / 12 per episode, averaged over 4
    assert all(0 <= accuracy <= 100 and round(accuracy * 48 / 100, 6).is_integer()
               for _, accuracy in summary["validation"])


def test_bad_training_settings_name_the_key():
    with pytest.raises(ConfigError) as error:
        EpisodicConfig(episodes=10, augment="query:warp")
    assert error.value.key == "augment"
    with pytest.raises(ConfigError) as error:
        EpisodicConfig(episodes=10, maxup_pool=("query:cutmix",), maxup_m=0)
    assert error.value.key == "maxup_m"
    with pytest.raises(ConfigError) as error:
        EpisodicConfig(episodes=10, episodes_per_step=3)
    assert error.value.key == "episodes_per_step"
    with pytest.raises(ConfigError) as error:
        EpisodicConfig(episodes=10, optimizer="rmsprop")
    assert error.value.key == "optimizer"


def test_curve_only_validation_keeps_the_final_model_and_leaves_training_as_it_was(tmp_path, make_pool):
    """keep_best=False: the curve is recorded, and the weights are those of training without validation."""
    base = dict(episodes=6, n_way=3, k_shot=1, n_query=2, optimizer="adam", lr=1e-3, weight_decay=0.0,
                checkpoint_every=100)
    models = []
    for extra in ({}, {"validate_every": 2, "val_episodes": 4, "val_shot": 1, "val_query": 3, "keep_best": False}):
        torch.manual_seed(0)
        backbone = Conv4(1, 8)
        config = EpisodicConfig(**base, **extra)
        summary = train_episodic(backbone, ProtoNetHead(scaled=False), make_pool(seed=0), config, 0, "curve",
                                 tmp_path / f"ck{len(models)}.pt", val_pool=make_pool(seed=1))
        models.append((backbone.state_dict(), summary))
    (plain, plain_summary), (curved, curve_summary) = models
    assert plain_summary["validation"] == [] and [e for e, _ in curve_summary["validation"]] == [2, 4, 6]
    assert curve_summary["kept_episode"] == 6
    assert all(torch.equal(plain[k], curved[k]) for k in plain)


def test_an_unknown_precision_names_the_key():
    with pytest.raises(ConfigError, match="precision"):
        EpisodicConfig(episodes=4, precision="float16")


def test_bfloat16_training_runs_the_backbone_in_bf16_and_hands_the_head_float32(tmp_path, pool):
    from methods.core import cpu
    from methods.metalearning.training import BFloat16Backbone

    if not cpu.bf16_matmul().supported:
        pytest.skip(f"no bfloat16 products on this CPU: {cpu.bf16_matmul().reason}")
    torch.manual_seed(0)
    backbone = Conv4(1, 8)
    seen = []
    backbone.blocks[0][0].register_forward_hook(lambda mod, args, out: seen.append(out.dtype))
    features = BFloat16Backbone(backbone)(torch.randn(3, 1, 28, 28))
    assert seen == [torch.bfloat16] and features.dtype == torch.float32
    _, _, summary = _train(pool, 8, tmp_path / "ck.pt", precision="bfloat16")
    assert summary["precision"] == "bfloat16" and np.isfinite(summary["final_loss"])
    float32, _, _ = _train(pool, 8, tmp_path / "ck32.pt")
    trained, _, _ = _train(pool, 8, tmp_path / "ck16.pt", precision="bfloat16")
    weights = dict(trained.named_parameters())
    assert all(p.dtype == torch.float32 for p in weights.values())  # the optimizer keeps float32 weights
    assert any(not torch.equal(p, weights[name]) for name, p in float32.named_parameters())


def test_bfloat16_on_a_cpu_without_it_is_a_config_error(tmp_path, pool, monkeypatch):
    monkeypatch.setenv("EFFREPRO_CPU_DISABLE", "bf16")
    with pytest.raises(ConfigError, match="precision"):
        _train(pool, 4, tmp_path / "ck.pt", precision="bfloat16")
