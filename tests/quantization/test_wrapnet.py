import copy

import pytest
import torch

from methods.core.errors import ConfigError
from methods.models.training import TrainConfig, accuracy, train_classifier
from methods.quantization import accumulator
from methods.quantization.wrapnet import (
    accumulating_layers,
    accuracy_and_overflow,
    as_wrapnet,
    cyclic,
    init_integer_steps,
    integer_layers,
    safe_width,
    set_accumulator,
    to_integer,
    weight_codes,
    wrapnet_loss,
)


def test_cyclic_activation_is_periodic_continuous_and_identity_near_zero():
    z = torch.arange(-2000, 2000, dtype=torch.float32)
    f = cyclic(z, 8, 0.5)
    assert torch.equal(f, cyclic(accumulator.wrap(z, 8), 8, 0.5))  # f(wrap(z)) = f(z)
    assert torch.equal(cyclic(z + 256, 8, 0.5), f)
    assert (f[1:] - f[:-1]).abs().max() <= 1.0  # no jumps, even across the wrap
    near = z.abs() <= 64
    assert torch.equal(f[near], z[near])


def test_cyclic_rejects_a_knee_outside_0_1():
    with pytest.raises(ConfigError, match="knee"):
        cyclic(torch.zeros(3), 8, 1.0)


@pytest.fixture(scope="module")
def integer_mlp(float_mlp, digits):
    x, _, _, _ = digits
    model = to_integer(float_mlp, act_bits=3)
    init_integer_steps(model, x[:512])
    return model


def test_integer_layers_compute_exact_integer_sums(integer_mlp, digits):
    _, _, x, _ = digits
    layers = accumulating_layers(integer_mlp)
    for layer in layers:
        layer.recording = True
    with torch.no_grad():
        integer_mlp(x[:64])
    for layer in layers:
        assert torch.equal(layer.exact, layer.exact.round())
        layer.recording, layer.exact = False, None


def test_edge_layers_compute_the_rescaled_exact_integer_sum(integer_mlp, digits):
    """The first and last layers scale their codes before the sum: the same function as the integer
    sum ``sum_i w_i a_i + b`` rescaled by one accumulator unit ``alpha * step`` after it."""
    _, _, x, _ = digits
    edges = [layer for layer in integer_layers(integer_mlp) if not layer.accumulates]
    inputs = {}
    hooks = [layer.register_forward_pre_hook(lambda m, args: inputs.update({m: args[0]})) for layer in edges]
    with torch.no_grad():
        integer_mlp(x[:64])
        for hook in hooks:
            hook.remove()
        assert len(edges) == 2 and set(inputs) == set(edges)
        for layer, a in inputs.items():
            a_int = torch.clamp(a / layer.step, -layer.qn, layer.qp).round()
            codes, alpha = weight_codes(layer.layer.weight, layer.weight_bits)
            unit = alpha.reshape(-1) * layer.step
            exact = torch.nn.functional.linear(a_int, codes) + (layer.layer.bias / unit).round()
            assert torch.equal(exact, exact.round())
            assert torch.allclose(layer(a), exact * unit, rtol=1e-5, atol=1e-5)


def test_at_32_bits_wrap_clamp_and_exact_agree(integer_mlp, digits):
    """The built-in control: a 32-bit accumulator never overflows, so every row agrees."""
    _, _, x, y = digits
    model = copy.deepcopy(integer_mlp)
    outputs = []
    for mode in ("exact", "wrap", "clamp"):
        set_accumulator(model, 32, mode)
        with torch.no_grad():
            outputs.append(model(x))
    assert torch.equal(outputs[0], outputs[1]) and torch.equal(outputs[0], outputs[2])
    correct, rates = accuracy_and_overflow(model, x, y, 32)
    assert rates == [0.0] and correct == pytest.approx(accuracy(model, x, y), abs=1e-4)
    wrapped = as_wrapnet(model, 32, 0.5)
    with torch.no_grad():
        assert torch.equal(wrapped(x), outputs[0])


def test_no_overflow_at_the_safe_width_and_some_at_narrow_widths(integer_mlp, digits):
    _, _, x, y = digits
    width = safe_width(integer_mlp)
    assert width == accumulator.safe_bits(64, 1, 7)  # the widest-input post-ReLU layer, fan-in 64
    assert max(accuracy_and_overflow(integer_mlp, x, y, width)[1]) == 0.0
    assert max(accuracy_and_overflow(integer_mlp, x, y, 5)[1]) > 0.0


def test_integer_model_keeps_accuracy_of_the_float_model(float_mlp, integer_mlp, digits):
    _, _, x, y = digits
    model = copy.deepcopy(integer_mlp)
    set_accumulator(model, 32, "exact")
    assert accuracy(model, x, y) > accuracy(float_mlp, x, y) - 25  # ternary/3-bit before any fine-tuning


def test_wrapnet_training_reduces_the_overflow_penalty(integer_mlp, digits):
    x, y, _, _ = digits
    model = as_wrapnet(integer_mlp, 6, 0.5)
    loss = wrapnet_loss(1.0)
    with torch.no_grad():
        model(x)
    before = float(sum(layer.penalty for layer in integer_layers(model)))
    train_classifier(model, x, y, TrainConfig(epochs=2, batch_size=64, lr=2e-3, optimizer="adam"), seed=0,
                     run_name="wrapnet", loss_fn=loss)
    model.eval()
    with torch.no_grad():
        model(x)
    after = float(sum(layer.penalty for layer in integer_layers(model)))
    assert after < before


def test_an_accumulator_narrower_than_the_operands_is_an_error(integer_mlp):
    with pytest.raises(ConfigError, match="accumulator_bits"):
        set_accumulator(copy.deepcopy(integer_mlp), 3, "wrap")


def test_overflow_rates_of_the_sweep_fall_with_each_extra_accumulator_bit(integer_mlp, digits):
    """The issue-17 sweep (6 to 10 bits, and 32): each layer's overflow rate can only fall as the
    accumulator widens (the exact sums are the same, the bound doubles), and 32 bits never overflows."""
    _, _, x, y = digits
    model = copy.deepcopy(integer_mlp)
    set_accumulator(model, 32, "exact")
    rates = {bits: accuracy_and_overflow(model, x, y, bits)[1] for bits in (6, 7, 8, 9, 10, 32)}
    for narrow, wide in ((6, 7), (7, 8), (8, 9), (9, 10), (10, 32)):
        assert all(a >= b for a, b in zip(rates[narrow], rates[wide]))
    assert max(rates[6]) > max(rates[10]) and max(rates[32]) == 0.0


def _tiny(*widths: int) -> torch.nn.Module:
    torch.manual_seed(0)
    layers = []
    for fan_in, out in zip(widths, widths[1:]):
        layers += [torch.nn.Linear(fan_in, out, bias=False), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def test_layer_precisions_of_a_tiny_net_first_and_last_at_8_bits():
    """Hand-computed: 3 Linear layers -> 3 integer layers. The first (fan-in 5) reads the signed 8-bit
    network input (|a| <= 127) with 8-bit weights, the last (fan-in 3) the unsigned 8-bit ReLU output
    (0..255) with 8-bit weights, and both keep an exact accumulator whatever ``set_accumulator`` asks
    (the common practice assumed for WrapNet, see the module docstring); only the middle one (fan-in
    4) has ternary weights, 3-bit inputs (0..7) and the 8-bit wrapping, cyclic accumulator."""
    from methods.quantization.wrapnet import accumulating_layers, layer_precisions

    model = to_integer(_tiny(5, 4, 3, 2), act_bits=3)
    init_integer_steps(model, torch.randn(16, 5))
    set_accumulator(model, 8, "wrap", cyclic_activation=True)
    edge = {"accumulator_bits": 32, "accumulator_mode": "exact", "cyclic": False}
    assert layer_precisions(model) == [
        {"weights": "8-bit", "input_bits": 8, "signed_input": True, "fan_in": 5, **edge},
        {"weights": "ternary", "input_bits": 3, "signed_input": False, "fan_in": 4,
         "accumulator_bits": 8, "accumulator_mode": "wrap", "cyclic": True},
        {"weights": "8-bit", "input_bits": 8, "signed_input": False, "fan_in": 3, **edge},
    ]
    first, middle, last = integer_layers(model)
    assert (first.qn, first.qp, middle.qn, middle.qp, last.qn, last.qp) == (127, 127, 0, 7, 0, 255)
    assert accumulating_layers(model) == [middle]
    # the no-overflow width of the accumulating layer: ceil(log2(4 * 1 * 7 + 1)) + 1 = 6 bits
    assert safe_width(model) == 6


def test_eight_bit_weight_codes_on_a_hand_made_case():
    """Per output channel, max|w| maps to 127: row (0.5, -0.25, 0.001) has alpha 0.5/127 and codes
    (127, -64, 0) (-63.5 rounds to even, -64; 0.254 rounds to 0)."""
    from methods.quantization.wrapnet import weight_codes

    codes, alpha = weight_codes(torch.tensor([[0.5, -0.25, 0.001]]), 8)
    assert codes.tolist() == [[127.0, -64.0, 0.0]]
    assert alpha.flatten().tolist() == pytest.approx([0.5 / 127])


def test_a_model_without_a_middle_layer_is_an_error():
    with pytest.raises(ConfigError, match="wrapnet.model"):
        to_integer(_tiny(5, 3, 2), act_bits=3)


def test_the_wrapnet_cnn_has_its_wide_layer_in_the_accumulator():
    """The laptop WrapNet model (``cnn_fc``): conv1 and the classifier at 8 bits; conv2 (fan-in
    32 x 3 x 3 = 288) and the hidden layer (fan-in 64 x 7 x 7 = 3,136) ternary, in the b-bit accumulator;
    no-overflow width ceil(log2(3136 * 7 + 1)) + 1 = 16 bits."""
    from methods.baselines.models import build_model
    from methods.quantization.wrapnet import layer_precisions

    model = build_model("cnn_fc", (1, 28, 28), 10, {"widths": [32, 64], "hidden": 256, "pool": 7})
    integer = to_integer(model, act_bits=3)
    init_integer_steps(integer, torch.randn(8, 1, 28, 28))
    assert [(p["weights"], p["fan_in"]) for p in layer_precisions(integer)] == [
        ("8-bit", 9), ("ternary", 288), ("ternary", 3136), ("8-bit", 256)]
    assert safe_width(integer) == 16


def test_accumulator_sweep_overflow_rate_on_a_hand_made_case():
    """Identity first layer, then the accumulating Linear(4, 1) with all weights equal (ternary codes
    all 1), no bias, step 1: inputs 7, 3, 1, 0 in every position give exact sums 28, 12, 4, 0. A b-bit
    accumulator holds [-2^(b-1), 2^(b-1) - 1]: 4 bits ([-8, 7]) loses 28 and 12 (rate 1/2), 5 bits
    ([-16, 15]) loses 28 (1/4), 6 bits and 32 none; negative weights give the same rates (-28, -12
    below -8; -28 below -16)."""
    from methods.quantization.wrapnet import accumulating_layers

    for sign in (1, -1):
        net = _tiny(4, 4, 1, 1)
        with torch.no_grad():
            net[0].weight.copy_(torch.eye(4))
            net[2].weight.fill_(0.5 * sign)
            net[4].weight.fill_(1.0)
        model = to_integer(net, act_bits=3)
        for layer in integer_layers(model):
            with torch.no_grad():
                layer.step.fill_(1.0)
        (middle,) = accumulating_layers(model)
        x = torch.tensor([7.0, 3.0, 1.0, 0.0]).unsqueeze(1).repeat(1, 4)
        y = torch.zeros(4, dtype=torch.long)
        for bits, rate in {4: 0.5, 5: 0.25, 6: 0.0, 32: 0.0}.items():
            set_accumulator(model, bits, "wrap")
            acc, rates = accuracy_and_overflow(model, x, y, bits)
            assert rates == [rate] and acc == 100.0
        middle.recording = True
        with torch.no_grad():
            model(x)
        assert middle.exact.flatten().tolist() == [28.0 * sign, 12.0 * sign, 4.0 * sign, 0.0]
        middle.recording = False


def test_naive_sweep_equals_a_full_wrap_and_clamp_pass_per_width(integer_mlp, digits):
    """The cheap sweep (re-running only the examples that overflow somewhere) gives the figures of
    one full wrap pass and one full clamp pass per width, overflow rates included."""
    from methods.quantization.wrapnet import naive_sweep

    _, _, x, y = digits
    model = copy.deepcopy(integer_mlp)
    widths = (32, 10, 9, 8, 7, 6)
    sweep = naive_sweep(model, x, y, widths)
    for bits in widths:
        set_accumulator(model, bits, "wrap")
        acc, rates = accuracy_and_overflow(model, x, y, bits)
        assert sweep[bits]["wrap"] == pytest.approx(acc, abs=1e-9)
        assert sweep[bits]["overflow"] == pytest.approx(rates, abs=1e-12)
        set_accumulator(model, bits, "clamp")
        assert sweep[bits]["clamp"] == pytest.approx(accuracy(model, x, y), abs=1e-4)  # float32 mean there
    assert max(sweep[6]["overflow"]) > 0  # the sweep does reach widths that overflow
