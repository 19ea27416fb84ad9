"""NASGraph: a neural architecture as a graph, built by forward passes of an untrained surrogate.

Huang, Pedapati, Chen, Jiang & Gao, "Graph is All You Need? Lightweight Data-agnostic Neural
Architecture Search without Training", arXiv 2405.01306 (AutoML 2024 workshop), Section 3, as the
official code does it: Zhenhan-Huang/NASGraph-Public@1f8fd621c60a48728fcc890818b6b94eee62e4dc
(``nasgraph/models/nasbench201_relation_cfg.py``, ``nasgraph/graphs/graph_rep.py``,
``nasgraph/graphs/graph_props.py``, ``scripts/convert_archs.sh``); read there, written anew here.

1. Surrogate (Sec. 3.1; ``convert_archs.sh``): the NB201 macro network with 3 stages of **one** cell,
   16 stem channels, no BatchNorm, every conv/linear weight drawn from N(0, 1), 32x32 inputs. Each
   operation (stem, cell edge, reduction conv_a / conv_b / shortcut, input and output identities)
   is a *layer* whose parents are the layers that write the node it reads.
2. Per-operation forward passes (Sec. 3.2): a layer is fed a batch with one sample per input
   channel, sample i all zeros except an all-ones map in channel i; layers holding a convolution
   get a ReLU on their output. Channel i of the parent and channel j of the layer are super-nodes
   ("depthwise" aggregation); the edge parent_i -> layer_j exists when the output map j of sample
   i sums to a non-zero value, with that sum, divided by the layer's total, as its weight.
3. Graph measures (Sec. 3.3; ``graph_props.py``): on the directed union graph (networkx), number of
   nodes and edges, average degree (in + out; the proxy), resilience <k^2>/<k>, degree entropy,
   wedge count, Gini coefficient and density, with the code's formulas, on unweighted degrees (the
   code's default ``--weight None``).

The code runs one forward pass per (parent, layer) pair with the same input; the pass depends on
the layer only (NB201 layers sum their inputs, so every parent feeds the same channels), so it is
run once per layer here, with the same edges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .nb201 import EDGES, Cell, parse_cell

MEASURES = ("nodes", "edges", "avg_degree", "resilience", "entropy", "wedge", "gini", "density")


@dataclass
class Layer:
    """One operation of the surrogate: its module, input channels and map size, output channels,
    parent layers, and whether its output gets a ReLU (the layer holds a convolution)."""

    module: object
    in_channels: int
    size: int
    out_channels: int
    parents: list[int] = field(default_factory=list)
    relu: bool = False


def surrogate_layers(cell: Cell | str, channels: int = 16, stages: int = 3, cells_per_stage: int = 1,
                     image_size: int = 32) -> list[Layer]:
    """The layers of the NASGraph surrogate of one NB201 cell (Sec. 3.1), in topological order."""
    import torch
    from torch import nn

    from .nb201 import _op

    if isinstance(cell, str):
        cell = parse_cell(cell)
    layers = [Layer(nn.Identity(), 3, image_size, 3)]  # the image
    layers.append(Layer(nn.Conv2d(3, channels, 3, padding=1, bias=False), 3, image_size, channels, [0], True))
    node_in, width, size = [1], channels, image_size
    for stage in range(stages):
        if stage:
            conv_a = Layer(nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=False), width, size, 2 * width,
                           list(node_in), True)
            layers.append(conv_a)
            layers.append(Layer(nn.Conv2d(2 * width, 2 * width, 3, padding=1, bias=False), 2 * width, size // 2,
                                2 * width, [len(layers) - 1], True))
            conv_b = len(layers) - 1
            layers.append(Layer(nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(width, 2 * width, 1, bias=False)),
                                width, size, 2 * width, list(node_in), True))
            node_in, width, size = [len(layers) - 1, conv_b], 2 * width, size // 2
        for _ in range(cells_per_stage):
            writers: dict[int, list[int]] = {0: node_in}
            for k, (node, source) in enumerate(EDGES):
                op = _op(cell[k], width, bn=False)
                if isinstance(op, nn.Sequential):  # ReLU-Conv-(no BN): the surrogate keeps the conv only
                    op = op[1]
                layers.append(Layer(op, width, size, width, list(writers[source]), "conv" in cell[k]))
                writers.setdefault(node, []).append(len(layers) - 1)
            node_in = writers[3]
    layers.append(Layer(nn.Identity(), width, size, width, list(node_in)))
    with torch.no_grad():
        for layer in layers:
            for m in layer.module.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    m.weight.normal_(0.0, 1.0)
    return layers


def layer_edges(layer: Layer) -> dict[tuple[int, int], float]:
    """Edges (input channel i, output channel j) -> normalised score of one layer (Sec. 3.2)."""
    import torch

    x = torch.zeros(layer.in_channels, layer.in_channels, layer.size, layer.size)
    x[torch.arange(layer.in_channels), torch.arange(layer.in_channels)] = 1.0
    with torch.no_grad():
        y = layer.module(x)
        if layer.relu:
            y = torch.relu(y)
    scores = y.double().sum(dim=(2, 3)).numpy()
    nonzero = np.argwhere(scores != 0)
    total = scores[scores != 0].sum()
    return {(int(i), int(j)): float(scores[i, j] / total) for i, j in nonzero}


def build_graph(layers: list[Layer]):
    """The directed graph of super-nodes ``"<layer>_<channel>"`` (Sec. 3.2)."""
    import networkx as nx

    graph = nx.DiGraph()
    for lid, layer in enumerate(layers):
        if not layer.parents:
            continue
        edges = layer_edges(layer)
        for pid in layer.parents:
            graph.add_weighted_edges_from((f"{pid}_{i}", f"{lid}_{j}", w) for (i, j), w in edges.items())
    return graph


def measures(graph) -> dict[str, float]:
    """The graph measures of ``graph_props.py`` for a directed graph, on unweighted degrees."""
    import networkx as nx
    from scipy.stats import entropy

    n, e = graph.number_of_nodes(), graph.number_of_edges()
    if n == 0 or e == 0:
        return {"nodes": float(n), "edges": float(e), **{k: 0.0 for k in MEASURES[2:]}}
    degs = np.array([d for _, d in graph.degree()], dtype=float)
    mean, square = degs.mean(), np.mean(degs ** 2)
    ranks = np.arange(1, n + 1)
    return {
        "nodes": float(n),
        "edges": float(e),
        "avg_degree": float(mean),
        "resilience": float(square / mean),
        "entropy": float(entropy(degs / e) / n),
        "wedge": float(np.sum(degs * (degs - 1) / 2)),
        # the code's formula: sum((i+1) k_(i)) / (E n) - (n+1)/n with the edge count E (not sum k = 2E)
        "gini": float(np.sum(ranks * np.sort(degs)) / (e * n) - (n + 1) / n),
        "density": float(nx.density(graph)),
    }


def nasgraph_measures(cell: Cell | str, seed: int) -> dict[str, float]:
    """Surrogate -> graph -> measures for one cell, with the surrogate's weights drawn from ``seed``."""
    import torch

    torch.manual_seed(seed)
    return measures(build_graph(surrogate_layers(cell)))
