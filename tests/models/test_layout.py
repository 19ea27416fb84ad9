import torch
from torch import nn

from methods.models.layout import in_layout_of


def test_a_one_input_channel_weight_keeps_its_channels_last_strides():
    stem = nn.Conv2d(1, 8, 3, padding=1).to(memory_format=torch.channels_last)
    derived = stem.weight * stem.weight.detach().sign()  # two ambiguous operands: default strides
    assert derived.stride() != stem.weight.stride()
    laid_out = in_layout_of(stem.weight, derived)
    assert laid_out.stride() == stem.weight.stride() and torch.equal(laid_out, derived)
    assert stem._conv_forward(torch.randn(2, 1, 6, 6), derived, stem.bias).is_contiguous()  # NCHW without it
    out = stem._conv_forward(torch.randn(2, 1, 6, 6), laid_out, stem.bias)
    assert out.stride(1) == 1 and not out.is_contiguous()  # NHWC
    out.sum().backward()
    assert stem.weight.grad is not None and stem.weight.grad.abs().sum() > 0


def test_a_tensor_already_in_the_layout_is_returned_as_it_is():
    weight = torch.randn(4, 3, 3, 3).contiguous(memory_format=torch.channels_last)
    derived = weight.clone()
    assert in_layout_of(weight, derived) is derived
