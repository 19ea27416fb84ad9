import copy

import pytest
import torch

from methods.core.errors import ConfigError
from methods.models.small_cnn import SmallCNN
from methods.models.training import TrainConfig, accuracy, train_classifier
from methods.pruning import unstructured as U


@pytest.mark.parametrize("strategy", U.STRATEGIES)
@pytest.mark.parametrize("compression", [8])
def test_masks_hit_whole_model_compression_with_classifier_dense(trained_mlp, digits, strategy, compression):
    x, y, _, _ = digits
    model = copy.deepcopy(trained_mlp)
    masks = U.compute_masks(strategy, compression, model, x[:128], y[:128], seed=0)
    assert "5" not in masks  # the classifier (last Linear, index 5 of the Sequential) is never masked
    U.apply_masks(model, masks)
    U.make_permanent(model)
    metrics = U.shrinkbench_metrics(model, x[:1])
    assert metrics["compression_ratio"] == pytest.approx(compression, rel=0.01)
    assert torch.count_nonzero(model[5].weight) == model[5].weight.numel()
    assert metrics["theoretical_speedup"] > 1


def test_layer_strategies_keep_the_same_fraction_everywhere_and_global_does_not(trained_mlp, digits):
    x, y, _, _ = digits
    layer = U.compute_masks("LayerMagWeight", 8, trained_mlp, x[:64], y[:64], 0)
    kept = [float(m["weight"].mean()) for m in layer.values()]
    assert max(kept) - min(kept) < 0.01
    global_ = U.compute_masks("GlobalMagWeight", 8, trained_mlp, x[:64], y[:64], 0)
    kept = [float(m["weight"].mean()) for m in global_.values()]
    assert max(kept) - min(kept) > 0.02


def test_random_is_far_below_global_magnitude_at_16x(trained_mlp, digits):
    x, y, x_test, y_test = digits
    scores = {}
    for strategy in ("GlobalMagWeight", "RandomPruning"):
        model = copy.deepcopy(trained_mlp)
        U.apply_masks(model, U.compute_masks(strategy, 16, model, x[:128], y[:128], 0))
        scores[strategy] = accuracy(model, x_test, y_test)
    assert scores["GlobalMagWeight"] > scores["RandomPruning"] + 20


def test_fine_tuning_keeps_pruned_weights_at_zero(trained_mlp, digits):
    x, y, _, _ = digits
    model = copy.deepcopy(trained_mlp)
    masks = U.compute_masks("GlobalMagGrad", 4, model, x[:128], y[:128], 0)
    U.apply_masks(model, masks)
    train_classifier(model, x, y, TrainConfig(epochs=1, batch_size=64, lr=0.05, weight_decay=1e-3), 0, "ft")
    U.make_permanent(model)
    for name, tensors in masks.items():
        module = dict(model.named_modules())[name]
        assert torch.all(module.weight[tensors["weight"] == 0] == 0)
    assert U.shrinkbench_metrics(model, x[:1])["compression_ratio"] == pytest.approx(4, rel=0.01)


def test_a_masked_channels_last_stem_still_computes_nhwc():
    """The masked weight keeps the channels_last layout of its original (methods.models.layout): the
    pruned SmallCNN's stem convolution runs NHWC while fine-tuning and after the masks are folded in."""
    torch.manual_seed(0)
    model = SmallCNN(1, 10, (4, 8), 12).to(memory_format=torch.channels_last)
    x = torch.randn(16, 1, 12, 12).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (16,))
    masks = U.compute_masks("LayerMagWeight", 1.5, model, x, y, 0)
    assert "features.0" in masks
    U.apply_masks(model, masks)
    stem = model.features[0]
    assert stem(x).stride(1) == 1 and torch.all(stem.weight[masks["features.0"]["weight"] == 0] == 0)
    U.make_permanent(model)
    assert stem.weight.stride() == (9, 1, 3, 1) and stem(x).stride(1) == 1


def test_conv_flops_count_non_zero_weights_times_output_positions():
    model = SmallCNN(1, 10, (4, 8), 28).eval()
    dense = U.flop_stats(model, torch.zeros(1, 1, 28, 28))
    expected = 4 * 9 * 28 * 28 + 4 * 8 * 9 * 14 * 14 + 32 * 10
    assert dense == {"flops": expected, "flops_nz": expected}
    with torch.no_grad():
        model.features[0].weight[:2] = 0
    assert U.flop_stats(model, torch.zeros(1, 1, 28, 28))["flops_nz"] == expected - 2 * 9 * 28 * 28


def test_bad_input_names_the_setting(trained_mlp, digits):
    x, y, _, _ = digits
    with pytest.raises(ConfigError, match="compression"):
        U.compute_masks("GlobalMagWeight", 1000, trained_mlp, x[:8], y[:8], 0)
    with pytest.raises(ConfigError, match="compression"):
        U.compute_masks("GlobalMagWeight", 0.5, trained_mlp, x[:8], y[:8], 0)
    with pytest.raises(ConfigError, match="strategy"):
        U.compute_masks("GlobalMagic", 2, trained_mlp, x[:8], y[:8], 0)
    with pytest.raises(ConfigError, match="Linear"):
        U.prunable_modules(torch.nn.Sequential(torch.nn.Linear(3, 2)))


def test_excluded_layers_stay_dense_and_unknown_names_are_named(trained_mlp, digits):
    x, y, _, _ = digits
    masks = U.compute_masks("GlobalMagWeight", 1.5, trained_mlp, x[:32], y[:32], 0, exclude=("3",))
    assert set(masks) == {"1"}
    with pytest.raises(ConfigError, match="'fc9'"):
        U.compute_masks("GlobalMagWeight", 2, trained_mlp, x[:32], y[:32], 0, exclude=("fc9",))
    with pytest.raises(ConfigError, match="'fc9'"):
        U.apply_masks(copy.deepcopy(trained_mlp), {"fc9": {"weight": torch.ones(1)}})
