"""Structured (channel / neuron) pruning that physically removes channels.

A *channel group* is one prunable dimension: the output channels of a producer layer (``Conv2d``
or ``Linear``), the matching entries of the normalization layer that follows it, and the input
channels of every layer that consumes it (for a ``Linear`` after a flatten, the block of features
each channel spans). Removing a channel slices all of them, so the result is a smaller *dense*
model whose latency can be measured (the DepGraph idea of Fang et al., CVPR 2023, Section 3, for
the architectures of this suite; ``torch-pruning`` traces the graph instead).

Dependencies handled: normalization layers follow their producer; flatten consumers lose the
whole block of a channel; in a residual network the channels that the shortcut adds together
(every block's output, tied across a stage by the identity / zero-pad shortcut) are coupled
across the whole stage, so only the channels inside each basic block (conv1 -> bn1 -> conv2)
are prunable, as in the ResNet-56 experiments of Li et al. (ICLR 2017, Section 4.2). The
classifier's outputs are never pruned.

Importance criteria (higher = keep): ``l1`` = L1 norm of the producer's filter (Li et al. 2017),
``bn_scale`` = |gamma| of the normalization layer (Liu et al., Network Slimming, ICCV 2017),
``taylor`` = sum over the group's parameters of |w * dL/dw| on a calibration batch (Molchanov
et al., CVPR 2019, as torch-pruning's GroupTaylorImportance), ``random``. ``local`` scope removes
the same fraction of every group; ``global`` ranks all channels together after dividing each
group's scores by their mean (torch-pruning's default "mean" normalizer), keeping at least one
channel per group.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from methods.core.errors import ConfigError

CRITERIA = ("l1", "bn_scale", "taylor", "random")
SCOPES = ("local", "global")


@dataclass
class ChannelGroup:
    """One prunable channel dimension: ``producer`` outputs, ``norm``, ``consumers`` inputs."""

    name: str
    producer: str
    norm: str | None
    consumers: list[tuple[str, int]] = field(default_factory=list)  # (module name, inputs per channel)


def channel_groups(model: nn.Module, ignored: tuple[str, ...] = ()) -> list[ChannelGroup]:
    """The prunable channel groups of an MLP, the small CNN or a CIFAR ResNet of this suite,
    except those whose producer layer is named in ``ignored`` (each must be a layer of the model)."""
    from methods.models.mlp import MLP
    from methods.models.resnet_cifar import ResNetCifar
    from methods.models.small_cnn import SmallCNN

    modules = dict(model.named_modules())
    groups: list[ChannelGroup] = []
    if isinstance(model, MLP):
        linears = [name for name, m in model.named_children() if isinstance(m, nn.Linear)]
        for producer, consumer in zip(linears[:-1], linears[1:]):
            groups.append(ChannelGroup(producer, producer, None, [(consumer, 1)]))
    elif isinstance(model, SmallCNN):
        convs = [f"features.{i}" for i, m in enumerate(model.features) if isinstance(m, nn.Conv2d)]
        norms = [f"features.{i}" for i, m in enumerate(model.features) if isinstance(m, nn.BatchNorm2d)]
        last = modules[convs[-1]].out_channels
        consumers = [[(c, 1)] for c in convs[1:]] + [[("classifier", model.classifier.in_features // last)]]
        groups = [ChannelGroup(c, c, n, cons) for c, n, cons in zip(convs, norms, consumers)]
    elif isinstance(model, ResNetCifar):
        for name, module in model.named_modules():
            if hasattr(module, "conv1") and hasattr(module, "conv2") and name:
                groups.append(ChannelGroup(name, f"{name}.conv1", f"{name}.bn1", [(f"{name}.conv2", 1)]))
    unknown = [name for name in ignored if name not in modules]
    if unknown:
        raise ConfigError("ignored", unknown[0], f"a layer name of {type(model).__name__}")
    groups = [g for g in groups if g.producer not in ignored]
    if not groups:
        raise ConfigError("model", type(model).__name__, "an MLP, SmallCNN or ResNetCifar with prunable channels")
    return groups


def _producer_params(modules: dict[str, nn.Module], group: ChannelGroup) -> list[torch.Tensor]:
    """Parameters whose first dimension is the group's channel (producer and norm)."""
    out = [modules[group.producer].weight]
    if modules[group.producer].bias is not None:
        out.append(modules[group.producer].bias)
    if group.norm:
        out += [modules[group.norm].weight, modules[group.norm].bias]
    return out


def channel_scores(model: nn.Module, groups: list[ChannelGroup], criterion: str, x: torch.Tensor, y: torch.Tensor,
                   generator: torch.Generator) -> dict[str, torch.Tensor]:
    """One importance score per channel of every group under ``criterion`` (higher = keep)."""
    if criterion not in CRITERIA:
        raise ConfigError("criterion", criterion, f"one of {list(CRITERIA)}")
    modules = dict(model.named_modules())
    scores: dict[str, torch.Tensor] = {}
    if criterion == "taylor":
        model.eval()
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
    for g in groups:
        producer = modules[g.producer]
        channels = producer.weight.shape[0]
        if criterion == "l1":
            scores[g.name] = producer.weight.detach().abs().flatten(1).sum(1)
        elif criterion == "bn_scale":
            if g.norm is None:
                raise ConfigError("criterion", criterion, f"a model with normalization layers ({g.name} has none)")
            scores[g.name] = modules[g.norm].weight.detach().abs()
        elif criterion == "taylor":
            total = torch.zeros(channels)
            for p in _producer_params(modules, g):
                total += (p.detach() * p.grad).abs().reshape(channels, -1).sum(1)
            for name, per_channel in g.consumers:
                w = modules[name].weight
                total += (w.detach() * w.grad).abs().transpose(0, 1).reshape(channels, -1).sum(1)
            scores[g.name] = total
        else:
            scores[g.name] = torch.rand(channels, generator=generator)
    model.zero_grad(set_to_none=True)
    return scores


def select_channels(scores: dict[str, torch.Tensor], ratio: float, scope: str) -> dict[str, torch.Tensor]:
    """Indices of the channels each group keeps when a ``ratio`` of channels is removed."""
    if not 0 <= ratio < 1:
        raise ConfigError("ratio", ratio, "a channel sparsity in [0, 1)")
    if scope not in SCOPES:
        raise ConfigError("scope", scope, f"one of {list(SCOPES)}")
    if scope == "local":
        keep = {}
        for name, s in scores.items():
            n_keep = max(1, s.numel() - int(round(ratio * s.numel())))
            keep[name] = s.topk(n_keep).indices.sort().values
        return keep
    names = list(scores)
    normalized = torch.cat([scores[n] / scores[n].mean().clamp_min(1e-12) for n in names])
    owner = torch.cat([torch.full((scores[n].numel(),), i) for i, n in enumerate(names)])
    order = normalized.argsort()
    removed = torch.zeros_like(normalized, dtype=torch.bool)
    left = {i: scores[n].numel() for i, n in enumerate(names)}
    budget = int(round(ratio * normalized.numel()))
    for index in order.tolist():
        if budget == 0:
            break
        if left[int(owner[index])] > 1:
            removed[index] = True
            left[int(owner[index])] -= 1
            budget -= 1
    keep, start = {}, 0
    for n in names:
        size = scores[n].numel()
        keep[n] = torch.nonzero(~removed[start:start + size]).flatten()
        start += size
    return keep


def _set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, attr, module)


def _slice_layer(layer: nn.Module, out_idx: torch.Tensor | None, in_idx: torch.Tensor | None) -> nn.Module:
    weight = layer.weight.detach()
    if out_idx is not None:
        weight = weight[out_idx]
    if in_idx is not None:
        weight = weight[:, in_idx]
    bias = layer.bias.detach() if layer.bias is not None else None
    if bias is not None and out_idx is not None:
        bias = bias[out_idx]
    if isinstance(layer, nn.Conv2d):
        new = nn.Conv2d(weight.shape[1], weight.shape[0], layer.kernel_size, layer.stride, layer.padding,
                        layer.dilation, 1, bias is not None, layer.padding_mode)
    else:
        new = nn.Linear(weight.shape[1], weight.shape[0], bias is not None)
    new.weight.data.copy_(weight)
    if bias is not None:
        new.bias.data.copy_(bias)
    return new


def _slice_norm(norm: nn.BatchNorm2d, idx: torch.Tensor) -> nn.BatchNorm2d:
    new = nn.BatchNorm2d(len(idx), norm.eps, norm.momentum, norm.affine, norm.track_running_stats)
    new.weight.data.copy_(norm.weight.detach()[idx])
    new.bias.data.copy_(norm.bias.detach()[idx])
    new.running_mean.copy_(norm.running_mean[idx])
    new.running_var.copy_(norm.running_var[idx])
    new.num_batches_tracked.copy_(norm.num_batches_tracked)
    return new


def remove_channels(model: nn.Module, groups: list[ChannelGroup], keep: dict[str, torch.Tensor]) -> nn.Module:
    """A copy of ``model`` with only the ``keep`` channels of each group (a smaller dense model)."""
    pruned = copy.deepcopy(model)
    modules = dict(pruned.named_modules())
    in_keep: dict[str, torch.Tensor] = {}
    for g in groups:
        idx = keep[g.name]
        for consumer, per_channel in g.consumers:
            in_keep[consumer] = (idx[:, None] * per_channel + torch.arange(per_channel)[None]).flatten()
    out_keep = {g.producer: keep[g.name] for g in groups}
    for name in set(out_keep) | set(in_keep):
        _set_module(pruned, name, _slice_layer(modules[name], out_keep.get(name), in_keep.get(name)))
    for g in groups:
        if g.norm:
            _set_module(pruned, g.norm, _slice_norm(modules[g.norm], keep[g.name]))
    return pruned.train(model.training)


def prune_channels(model: nn.Module, criterion: str, scope: str, ratio: float, x: torch.Tensor, y: torch.Tensor,
                   seed: int, ignored: tuple[str, ...] = ()) -> nn.Module:
    """Score, select and physically remove a ``ratio`` of the channels of ``model``; the groups
    whose producer layer is named in ``ignored`` keep all their channels."""
    groups = channel_groups(model, ignored)
    scores = channel_scores(model, groups, criterion, x, y, torch.Generator().manual_seed(seed))
    return remove_channels(model, groups, select_channels(scores, ratio, scope))
