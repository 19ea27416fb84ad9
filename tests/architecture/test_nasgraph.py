"""NASGraph's graph construction on a two-operation toy cell, with edges and degree worked by hand."""

import pytest
import torch
from torch import nn

from methods.architecture import nasgraph


def _toy_layers():
    """input (2 channels, 2x2 maps) -> conv1x1 with weights W (ReLU after) -> skip_connect."""
    conv = nn.Conv2d(2, 2, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[1.0, -1.0], [2.0, 0.0]]).view(2, 2, 1, 1))
    return [
        nasgraph.Layer(nn.Identity(), 2, 2, 2),
        nasgraph.Layer(conv, 2, 2, 2, [0], relu=True),
        nasgraph.Layer(nn.Identity(), 2, 2, 2, [1]),
    ]


def test_layer_edges_by_hand():
    # one-hot channel i through the conv: output map j is relu(W[j, i]) everywhere, summing to 4 relu(W[j, i]):
    # (0,0): 4, (0,1): 8, (1,0): relu(-1) = 0, (1,1): 0 -> two edges, weights 4/12 and 8/12
    conv_edges = nasgraph.layer_edges(_toy_layers()[1])
    assert conv_edges == pytest.approx({(0, 0): 1 / 3, (0, 1): 2 / 3})
    # the skip connection maps channel i to channel i only
    assert nasgraph.layer_edges(_toy_layers()[2]) == pytest.approx({(0, 0): 0.5, (1, 1): 0.5})


def test_graph_and_measures_by_hand():
    graph = nasgraph.build_graph(_toy_layers())
    # input channel 1 has no non-zero edge, so super-node 0_1 never enters the graph
    assert sorted(graph.edges) == [("0_0", "1_0"), ("0_0", "1_1"), ("1_0", "2_0"), ("1_1", "2_1")]
    m = nasgraph.measures(graph)
    # degrees (in + out): 0_0: 2, 1_0: 2, 1_1: 2, 2_0: 1, 2_1: 1 -> mean 8/5, <k^2> = 14/5
    assert m["nodes"] == 5 and m["edges"] == 4
    assert m["avg_degree"] == pytest.approx(1.6)
    assert m["resilience"] == pytest.approx((14 / 5) / 1.6)
    assert m["wedge"] == pytest.approx(3.0)
    assert m["density"] == pytest.approx(4 / 20)
    # Gini as the official code computes it: sorted k = 1,1,2,2,2; sum (i+1) k_i = 1+2+6+8+10 = 27
    assert m["gini"] == pytest.approx(27 / (4 * 5) - 6 / 5)


def test_zero_op_adds_no_edges_and_surrogate_is_seeded():
    layers = nasgraph.surrogate_layers("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    zeros = [layer for layer in layers if type(layer.module).__name__ == "_Zero"]
    assert len(zeros) == 18 and all(nasgraph.layer_edges(layer) == {} for layer in zeros)
    a = nasgraph.nasgraph_measures("|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|", 3)
    b = nasgraph.nasgraph_measures("|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|", 3)
    assert a == b and a["avg_degree"] > 0


def test_surrogate_shape_follows_official_layout():
    layers = nasgraph.surrogate_layers("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|")
    # input, stem, 6 edges, (conv_a, conv_b, shortcut, 6 edges) x 2, output identity
    assert len(layers) == 1 + 1 + 6 + 2 * 9 + 1
    assert [layers[k].out_channels for k in (1, 8, 9, 10)] == [16, 32, 32, 32]
    assert layers[11].parents == [10, 9]  # the second stage's cell reads the shortcut and conv_b
