import copy

import pytest
import torch

from methods.core.errors import ConfigError
from methods.models.small_cnn import SmallCNN
from methods.models.training import TrainConfig, accuracy, train_classifier
from methods.quantization.qmodules import (QuantConfig, QuantLayer, fold_batchnorm, learned_steps, packed_size_bytes,
                                          quantize_model, step_change)


def test_setting_names_parse():
    config = QuantConfig.parse("wta4-channel-percentile")
    assert config.weight.bits == "ternary" and config.weight.per_channel
    assert config.activation.bits == 4 and not config.activation.symmetric
    assert config.activation.calibration == "percentile"
    assert QuantConfig.parse("w8a8-tensor").weight.calibration == "mse"


@pytest.mark.parametrize("setting", ["w8a8", "w5a8-layer", "w1a8-tensor", "w8a9-tensor"])
def test_bad_settings_name_the_setting(setting):
    with pytest.raises(ConfigError, match="quantization"):
        QuantConfig.parse(setting)


def test_batchnorm_folding_keeps_the_outputs():
    torch.manual_seed(0)
    model = SmallCNN(1, 10, (4, 8), 12).train()
    x = torch.randn(32, 1, 12, 12)
    model(x)  # update the running statistics
    model.eval()
    folded = fold_batchnorm(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert torch.allclose(folded(x), model(x), atol=1e-5)


def test_w8a8_ptq_is_within_one_point_and_w2a2_is_worse(float_mlp, digits):
    x, _, xt, yt = digits
    reference = accuracy(float_mlp, xt, yt)
    w8 = accuracy(quantize_model(float_mlp, QuantConfig.parse("w8a8-channel"), "ptq", x[:512]), xt, yt)
    w2 = accuracy(quantize_model(float_mlp, QuantConfig.parse("w2a2-tensor-minmax"), "ptq", x[:512]), xt, yt)
    assert abs(w8 - reference) <= 1.0
    assert w2 < w8 - 5


def test_qat_recovers_accuracy_lost_by_ternary_ptq(float_mlp, digits):
    x, y, xt, yt = digits
    config = QuantConfig.parse("wta4-channel")
    ptq = accuracy(quantize_model(float_mlp, config, "ptq", x[:512]), xt, yt)
    for mode in ("qat", "lsq"):
        model = quantize_model(float_mlp, config, mode, x[:512])
        train_classifier(model, x, y, TrainConfig(epochs=3, batch_size=64, lr=1e-3, optimizer="adam"), seed=0,
                         run_name=mode)
        assert accuracy(model, xt, yt) > ptq


def test_step_change_is_the_mean_relative_move_of_each_lsq_quantizers_steps(float_mlp, digits):
    x = digits[0]
    model = quantize_model(float_mlp, QuantConfig.parse("w4a4-channel"), "lsq", x[:512])
    before = learned_steps(model)
    assert before and all(name.endswith(("w_lsq", "a_lsq")) for name in before)
    first = next(iter(before))
    with torch.no_grad():
        steps = model.get_submodule(first).step
        steps[0] *= 1.5  # one step of the first quantizer 50% up: its mean change is 0.5 / len(steps)
    moved = step_change(before, model)
    assert moved[first] == pytest.approx(0.5 / len(steps))
    assert all(value == 0.0 for name, value in moved.items() if name != first)
    assert learned_steps(quantize_model(float_mlp, QuantConfig.parse("w4a4-channel"), "qat", x[:512])) == {}


def test_packed_size_counts_bits_per_weight(float_mlp, digits):
    x = digits[0][:64]
    size8 = packed_size_bytes(quantize_model(float_mlp, QuantConfig.parse("w8a8-tensor"), "ptq", x, edge_bits=None))
    size2 = packed_size_bytes(quantize_model(float_mlp, QuantConfig.parse("wta8-tensor"), "ptq", x, edge_bits=None))
    weights = sum(p.numel() for n, p in float_mlp.named_parameters() if n.endswith("weight"))
    assert size8 - size2 == pytest.approx(weights * 6 / 8)


def test_empty_calibration_set_is_an_error(float_mlp):
    with pytest.raises(ConfigError, match="calibration_set"):
        quantize_model(float_mlp, QuantConfig.parse("w8a8-tensor"), "ptq", torch.empty(0, 64))


@pytest.mark.parametrize("mode", ["ptq", "lsq"])
def test_first_and_last_layers_stay_at_8_bits_in_call_order(mode):
    """LSQ (Esser et al. 2020, Section 3) keeps the first and last layers at 8 bits: the stem conv and
    the classifier of the SmallCNN, though the classifier is registered before the convolutions'
    Sequential is entered when modules are walked parent by parent."""
    torch.manual_seed(0)
    model = SmallCNN(1, 10, (4, 8), 12).eval()
    x = torch.randn(16, 1, 12, 12)
    qmodel = quantize_model(model, QuantConfig.parse("w2a2-channel"), mode, x)
    bits = {name: (m.config.weight.bits, m.config.activation.bits) for name, m in qmodel.named_modules()
            if isinstance(m, QuantLayer)}
    assert bits == {"features.0": (8, 8), "features.4": (2, 2), "classifier": (8, 8)}
    every = quantize_model(model, QuantConfig.parse("w2a2-channel"), mode, x, edge_bits=None)
    assert {m.config.weight.bits for m in every.modules() if isinstance(m, QuantLayer)} == {2}


@pytest.mark.parametrize("mode", ["ptq", "qat", "lsq", "integer"])
def test_quantized_stem_convolution_stays_channels_last(mode):
    """The models' convolutions run channels_last (oneDNN's NHWC path; NCHW max pooling is several
    times slower on CPUs). A one-input-channel weight's layout is ambiguous, so a quantizer's output
    loses it; the quantized stem must still compute NHWC, with the NCHW model's values. The integer
    model's sums are exact in either layout, so its gradients match too (elsewhere the last float bit
    of a sum can break a max-pooling tie the other way and route a gradient elsewhere)."""
    from methods.quantization.wrapnet import init_integer_steps, to_integer

    torch.manual_seed(0)
    model = SmallCNN(1, 10, (4, 8), 12).eval()
    x = torch.randn(16, 1, 12, 12)

    def quantized(net):
        if mode == "integer":
            integer = to_integer(net, act_bits=3, edge_bits=8)
            init_integer_steps(integer, x)
            return integer
        return quantize_model(net, QuantConfig.parse("w4a4-channel"), mode, x)

    nchw = quantized(model)
    nhwc = quantized(copy.deepcopy(model).to(memory_format=torch.channels_last))
    stem = {}
    nhwc.get_submodule("features.0").register_forward_hook(lambda m, args, out: stem.update(out=out))
    out = nhwc(x.contiguous(memory_format=torch.channels_last))
    assert stem["out"].stride(1) == 1 and not stem["out"].is_contiguous()  # NHWC
    assert torch.allclose(out, nchw(x), atol=1e-4)
    if mode == "integer":
        out.sum().backward()
        nchw(x).sum().backward()
        grads = [(name, a.grad, b.grad) for (name, a), (_, b) in zip(nchw.named_parameters(), nhwc.named_parameters())]
        assert sum(a is not None for _, a, _ in grads) >= 6  # weights and steps of the three layers
        for name, a, b in grads:
            assert (a is None) == (b is None), name
            assert a is None or torch.allclose(a, b, rtol=1e-4, atol=1e-5), name
