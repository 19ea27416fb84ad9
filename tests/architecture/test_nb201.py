"""The NB201 search space against the benchmark's published parameter and FLOP counts.

NAS-Bench-201-v1_1-096897 records ``params`` (millions) and ``flop`` (MFLOPs) per cell; the extremes
are the all-``none`` cell (reduction blocks, stem and classifier only) and the all-``nor_conv_3x3``
cell: params 0.073306 / 1.531546 (cifar10-valid), 0.079156 / 1.537396 (CIFAR-100), 0.080456 /
1.538696 (ImageNet16-120); FLOPs 7.78305 / 220.11969 (CIFAR-10), 7.7889 / 220.12554 (CIFAR-100),
1.9534 / 55.03756 (ImageNet16-120, 16x16 images). Values as printed by third-party code reading the
benchmark file (the 2 GB file itself is not available offline). The middle cell is checked against a
count by hand: per stage of 5 cells at width C, a 3x3 conv edge holds 9C^2 + 2C parameters (conv,
BN affine), a 1x1 one C^2 + 2C.
"""

import pytest

from methods.architecture import nb201
from methods.core.measure import count_parameters

NONE, CONV3 = ("none",) * 6, ("nor_conv_3x3",) * 6


@pytest.mark.parametrize("classes,image,lo,hi,flo_lo,flo_hi", [
    (10, 32, 73306, 1531546, 7783050, 220119690),
    (100, 32, 79156, 1537396, 7788900, 220125540),
    (120, 16, 80456, 1538696, 1953400, 55037560),
])
def test_params_and_flops_match_nb201(classes, image, lo, hi, flo_lo, flo_hi):
    for cell, params, flops in ((NONE, lo, flo_lo), (CONV3, hi, flo_hi)):
        net = nb201.build_network(cell, classes=classes)
        assert count_parameters(net) == params
        assert nb201.nb201_flops(net, image) == flops


def test_mixed_cell_params_by_hand():
    arch = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"
    by_hand = 73306 + sum(5 * (2 * (9 * c * c + 2 * c) + (c * c + 2 * c)) for c in (16, 32, 64))
    assert by_hand == 587386
    assert count_parameters(nb201.build_network(arch)) == by_hand


def test_cell_strings_round_trip_and_errors():
    cells = nb201.all_cells()
    assert len(cells) == len(set(cells)) == nb201.NUM_ARCHS == 15625
    for cell in cells[::997]:
        assert nb201.parse_cell(nb201.cell_string(cell)) == cell
    for bad in ("|nor_conv_3x3~0|+|none~0|", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
                "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|"):
        with pytest.raises(ValueError, match="cell string"):
            nb201.parse_cell(bad)


def test_forward_shape_and_zero_cell_ignores_cells():
    import torch

    torch.manual_seed(0)
    net = nb201.build_network(NONE).eval()
    out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10)
