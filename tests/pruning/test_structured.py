import copy

import pytest
import torch

from methods.core.errors import ConfigError
from methods.models.resnet_cifar import resnet20
from methods.models.small_cnn import SmallCNN
from methods.models.training import accuracy
from methods.pruning import structured as S


def _cnn():
    torch.manual_seed(0)
    model = SmallCNN(1, 10, (8, 16), 28)
    with torch.no_grad():  # non-trivial BN statistics
        for bn in (model.features[1], model.features[5]):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
    return model.eval()


def test_removing_channels_equals_cutting_their_consumers():
    """The smaller dense model computes exactly what the full model computes when the consumers of
    the removed channels ignore them (BN, flatten and classifier dependencies handled)."""
    model, x = _cnn(), torch.randn(4, 1, 28, 28)
    groups = S.channel_groups(model)
    keep = {"features.0": torch.tensor([0, 2, 3, 7]), "features.4": torch.tensor([1, 5, 6, 9, 15])}
    pruned = S.remove_channels(model, groups, keep)
    reference = copy.deepcopy(model)
    with torch.no_grad():
        drop1 = [c for c in range(8) if c not in keep["features.0"]]
        reference.features[4].weight[:, drop1] = 0
        drop2 = [c for c in range(16) if c not in keep["features.4"]]
        cls = reference.classifier.weight.view(10, 16, 4)
        cls[:, drop2] = 0
    assert torch.allclose(pruned(x), reference(x), atol=1e-5)
    assert pruned.features[0].out_channels == 4 and pruned.features[4].in_channels == 4
    assert pruned.features[5].num_features == 5 and pruned.classifier.in_features == 20


def test_resnet_prunes_inside_blocks_only_and_keeps_the_residual_width():
    model, x = resnet20().eval(), torch.randn(2, 3, 32, 32)
    pruned = S.prune_channels(model, "l1", "local", 0.5, x, torch.tensor([0, 1]), seed=0)
    assert pruned(x).shape == (2, 10)
    block = pruned.layers[4]
    assert block.conv1.out_channels == 16 and block.bn1.num_features == 16 and block.conv2.out_channels == 32
    assert sum(p.numel() for p in pruned.parameters()) < 0.6 * sum(p.numel() for p in model.parameters())


def test_global_scope_keeps_a_channel_in_every_group():
    scores = {"a": torch.tensor([1.0, 1.0, 1.0]), "b": torch.tensor([100.0, 200.0, 300.0, 400.0])}
    keep = S.select_channels({"a": torch.tensor([0.01, 0.02, 0.03]), **{"b": scores["b"]}}, 0.5, "global")
    assert sum(len(v) for v in keep.values()) == 7 - 4
    assert len(keep["a"]) >= 1 and len(keep["b"]) >= 1


def test_l1_beats_random_on_a_trained_mlp(trained_mlp, digits):
    x, y, x_test, y_test = digits
    l1 = accuracy(S.prune_channels(trained_mlp, "l1", "local", 0.75, x[:64], y[:64], 0), x_test, y_test)
    taylor = accuracy(S.prune_channels(trained_mlp, "taylor", "global", 0.75, x[:128], y[:128], 0), x_test, y_test)
    random = sum(accuracy(S.prune_channels(trained_mlp, "random", "local", 0.75, x[:64], y[:64], s), x_test, y_test)
                 for s in range(3)) / 3
    assert max(l1, taylor) > random + 3


def test_bad_input_names_the_setting(trained_mlp, digits):
    x, y, _, _ = digits
    with pytest.raises(ConfigError, match="ratio"):
        S.prune_channels(trained_mlp, "l1", "local", 1.0, x[:8], y[:8], 0)
    with pytest.raises(ConfigError, match="criterion"):
        S.prune_channels(trained_mlp, "l3", "local", 0.5, x[:8], y[:8], 0)
    with pytest.raises(ConfigError, match="bn_scale"):
        S.prune_channels(trained_mlp, "bn_scale", "local", 0.5, x[:8], y[:8], 0)
    with pytest.raises(ConfigError, match="model"):
        S.channel_groups(torch.nn.Sequential(torch.nn.Linear(3, 2)))


def test_ignored_groups_keep_their_channels_and_unknown_names_are_named():
    model, x = _cnn(), torch.randn(2, 1, 28, 28)
    pruned = S.prune_channels(model, "l1", "local", 0.5, x, torch.tensor([0, 1]), 0, ignored=("features.0",))
    assert pruned.features[0].out_channels == 8 and pruned.features[4].out_channels == 8
    with pytest.raises(ConfigError, match="'features.9'"):
        S.prune_channels(model, "l1", "local", 0.5, x, torch.tensor([0, 1]), 0, ignored=("features.9",))
