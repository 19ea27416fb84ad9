"""The quantization paths on ImageNet's ResNet-18: residual blocks fold, fake-quantize, run in int8 and as integers."""

from __future__ import annotations

import pytest
import torch

from methods.models.resnet_imagenet import resnet18
from methods.quantization.int8 import int8_model
from methods.quantization.qmodules import QuantConfig, QuantLayer, fold_batchnorm, quantize_model
from methods.quantization.wrapnet import (
    accuracy_and_overflow,
    init_integer_steps,
    integer_layers,
    set_accumulator,
    to_integer,
)


@pytest.fixture(scope="module")
def model_and_inputs():
    """ResNet-18 (10 classes) with non-trivial BatchNorm statistics, on small 64x64 inputs."""
    torch.manual_seed(0)
    model = resnet18(classes=10).train()
    x = torch.randn(16, 3, 64, 64)
    with torch.no_grad():
        for _ in range(3):
            model(x)
    return model.eval(), x


def test_every_batchnorm_of_the_residual_blocks_folds(model_and_inputs):
    model, x = model_and_inputs
    folded = fold_batchnorm(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert sum(isinstance(m, torch.nn.Conv2d) for m in folded.modules()) == 20  # stem, 16 in blocks, 3 shortcuts
    with torch.no_grad():
        assert torch.allclose(folded(x), model(x), atol=1e-4)


def test_w8a8_fake_quantization_wraps_every_layer_and_stays_close(model_and_inputs):
    model, x = model_and_inputs
    qmodel = quantize_model(model, QuantConfig.parse("w8a8-channel-minmax"), "ptq", x)
    assert sum(isinstance(m, QuantLayer) for m in qmodel.modules()) == 21
    with torch.no_grad():
        reference, quantized = model(x), qmodel(x)
    assert (quantized - reference).abs().max() < 0.1 * reference.abs().max()


def test_int8_kernels_quantize_the_shortcut_sums(model_and_inputs, int8_engine):
    model, x = model_and_inputs
    int8, path = int8_model(model, x, int8_engine)
    assert path == "static-fx"
    assert any("quantized" in type(m).__module__ for m in int8.modules())
    with torch.no_grad():
        reference, out = model(x), int8(x)
    # 18 layers of 8-bit rounding on a random network: a few per cent of the logits' range
    assert (out - reference).abs().max() < 0.15 * reference.abs().max()
    assert torch.nn.functional.cosine_similarity(out.flatten(), reference.flatten(), dim=0) > 0.98


def test_integer_resnet18_is_exact_at_32_bits_and_overflows_at_8(model_and_inputs):
    model, x = model_and_inputs
    integer = to_integer(model, act_bits=3)
    layers = integer_layers(integer)
    assert len(layers) == 21 and layers[0].signed and layers[0].layer.kernel_size == (7, 7)
    assert not any(layer.signed for layer in layers[1:])
    init_integer_steps(integer, x)
    y = torch.zeros(len(x), dtype=torch.long)
    set_accumulator(integer, 32, "exact")
    with torch.no_grad():
        exact = integer(x)
    set_accumulator(integer, 32, "wrap")
    accuracy, rates = accuracy_and_overflow(integer, x, y, 32)
    with torch.no_grad():
        assert torch.equal(integer(x), exact)
    assert max(rates) == 0 and 0 <= accuracy <= 100
    set_accumulator(integer, 8, "wrap")
    _, rates = accuracy_and_overflow(integer, x, y, 8)
    assert len(rates) == 19 and max(rates) > 0  # the stem and the classifier keep exact accumulators
