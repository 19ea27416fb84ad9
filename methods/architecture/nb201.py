"""The NAS-Bench-201 search space in torch (Dong & Yang, ICLR 2020, Section 2.1 and Figure 1).

A cell is a DAG of 4 nodes; each of its 6 edges j -> i (j < i) carries one of five operations,
written as NB201's cell string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (node 1, node 2, node 3;
``op~j`` is the edge from node j). The macro network stacks a 3x3 conv stem (C=16 channels), three
stages of N=5 cells (C, 2C, 4C channels) with a residual reduction block between stages, then
BN-ReLU, global average pooling and a linear classifier. Operations as NB201 defines them:
``nor_conv_kxk`` is ReLU-Conv-BN, ``avg_pool_3x3`` a 3x3 average pool (stride 1, padding not
counted), ``skip_connect`` the identity and ``none`` the zero map. Read from the description in
the paper and the search-space code of D-X-Y/NAS-Bench-201 as re-implemented by
Zhenhan-Huang/NASGraph-Public@1f8fd621c60a48728fcc890818b6b94eee62e4dc
(``nasgraph/models/nasbench201_base_ops.py``); written anew here.
"""

from __future__ import annotations

import functools
import itertools

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))  # (node, input node), in cell-string order
NUM_ARCHS = len(OPS) ** len(EDGES)  # 15,625

Cell = tuple[str, ...]  # the 6 edge operations in EDGES order


def parse_cell(arch: str) -> Cell:
    """The 6 operations of an NB201 cell string, validated (ValueError naming the string otherwise)."""
    nodes = arch.strip().split("+")
    ops: list[str] = []
    try:
        if len(nodes) != 3:
            raise ValueError("expected 3 nodes separated by '+'")
        for node, text in enumerate(nodes, start=1):
            parts = [p for p in text.split("|") if p]
            if len(parts) != node:
                raise ValueError(f"node {node} has {len(parts)} inputs, expected {node}")
            for source, part in enumerate(parts):
                op, _, index = part.partition("~")
                if op not in OPS or index != str(source):
                    raise ValueError(f"bad edge '{part}' (ops: {OPS}, input {source})")
                ops.append(op)
    except ValueError as error:
        raise ValueError(f"NAS-Bench-201 cell string '{arch}': {error}") from None
    return tuple(ops)


def cell_string(cell: Cell) -> str:
    """Inverse of :func:`parse_cell`."""
    nodes, k = [], 0
    for node in (1, 2, 3):
        nodes.append("|" + "|".join(f"{cell[k + j]}~{j}" for j in range(node)) + "|")
        k += node
    return "+".join(nodes)


def all_cells() -> list[Cell]:
    return [tuple(c) for c in itertools.product(OPS, repeat=len(EDGES))]


def _op(name: str, channels: int, bn: bool):
    from torch import nn

    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    k = 3 if name == "nor_conv_3x3" else 1
    return relu_conv_bn(channels, channels, k, 1, bn)


def relu_conv_bn(c_in: int, c_out: int, kernel: int, stride: int, bn: bool):
    from torch import nn

    layers = [nn.ReLU(), nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False)]
    return nn.Sequential(*layers, nn.BatchNorm2d(c_out) if bn else nn.Identity())


@functools.lru_cache(maxsize=1)
def _module_classes():
    import torch
    from torch import nn

    class _Zero(nn.Module):
        def forward(self, x):
            return x.mul(0.0)

    class _Cell(nn.Module):
        """node_i = sum over j < i of op_{i,j}(node_j); the output is node 3."""

        def __init__(self, cell: Cell, channels: int, bn: bool):
            super().__init__()
            self.edges = nn.ModuleList(_op(op, channels, bn) for op in cell)

        def forward(self, x):
            nodes = [x]
            for node in (1, 2, 3):
                nodes.append(sum(self.edges[k](nodes[j]) for k, (i, j) in enumerate(EDGES) if i == node))
            return nodes[3]

    class _Reduction(nn.Module):
        """NB201's residual reduction block: ReLUConvBN 3x3 stride 2, ReLUConvBN 3x3, plus a shortcut
        of 2x2 average pooling and a 1x1 convolution."""

        def __init__(self, c_in: int, c_out: int, bn: bool):
            super().__init__()
            self.conv_a = relu_conv_bn(c_in, c_out, 3, 2, bn)
            self.conv_b = relu_conv_bn(c_out, c_out, 3, 1, bn)
            self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

        def forward(self, x):
            return self.conv_b(self.conv_a(x)) + self.shortcut(x)

    class _Network(nn.Module):
        def __init__(self, cell: Cell, channels: int, cells_per_stage: int, classes: int, bn: bool):
            super().__init__()
            norm = (lambda c: nn.BatchNorm2d(c)) if bn else (lambda c: nn.Identity())
            blocks = [nn.Conv2d(3, channels, 3, padding=1, bias=False), norm(channels)]
            width = channels
            for stage in range(3):
                if stage:
                    blocks.append(_Reduction(width, 2 * width, bn))
                    width *= 2
                blocks += [_Cell(cell, width, bn) for _ in range(cells_per_stage)]
            blocks += [norm(width), nn.ReLU()]
            self.features = nn.Sequential(*blocks)
            self.classifier = nn.Linear(width, classes)

        def forward(self, x):
            return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(self.features(x), 1), 1))

    return _Zero, _Cell, _Reduction, _Network


def Zero():
    return _module_classes()[0]()


def build_network(cell: Cell | str, channels: int = 16, cells_per_stage: int = 5, classes: int = 10,
                  bn: bool = True):
    """NB201's macro network (C=16, N=5 by default) for one cell; ``bn=False`` drops every BatchNorm
    (the form synflow scores, Tanaka et al. 2020)."""
    if isinstance(cell, str):
        cell = parse_cell(cell)
    return _module_classes()[3](tuple(cell), channels, cells_per_stage, classes, bn)


def nb201_flops(model, image_size: int = 32) -> int:
    """NB201's ``flop`` count: multiply-accumulates of every convolution and linear layer, plus the
    linear layers' bias additions, for one image (the benchmark reports it in millions)."""
    import torch
    from torch import nn

    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
            total += output[0].numel() * k
        elif isinstance(module, nn.Linear):
            total += module.in_features * module.out_features + (module.out_features if module.bias is not None else 0)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            model.eval()
            model(torch.zeros(1, 3, image_size, image_size))
    finally:
        for h in handles:
            h.remove()
    return total
