import copy

import pytest
import torch

from methods.core.errors import ConfigError
from methods.models.training import TrainConfig, accuracy, train_classifier
from methods.quantization import accumulator
from methods.quantization.wrapnet import (
    accuracy_and_overflow,
    as_wrapnet,
    cyclic,
    init_integer_steps,
    integer_layers,
    safe_width,
    set_accumulator,
    to_integer,
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
    model = to_integer(float_mlp, act_bits=3, input_bits=4)
    init_integer_steps(model, x[:512])
    return model


def test_integer_layers_compute_exact_integer_sums(integer_mlp, digits):
    _, _, x, _ = digits
    layers = integer_layers(integer_mlp)
    for layer in layers:
        layer.recording = True
    with torch.no_grad():
        integer_mlp(x[:64])
    for layer in layers:
        assert torch.equal(layer.exact, layer.exact.round())
        layer.recording, layer.exact = False, None


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
    assert rates == [0.0] * 3 and correct == pytest.approx(accuracy(model, x, y), abs=1e-4)
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


def _tiny(first: int, hidden: int, out: int) -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(first, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, out))


def test_layer_precisions_of_a_tiny_net_first_and_last_layer_included():
    """Hand-computed: 2 Linear layers -> 2 integer layers, both ternary; the first reads the signed
    4-bit network input (|a| <= 7), the second the unsigned 3-bit ReLU output (0..7); fan-in 5 and 3;
    both accumulate in the b bits that ``set_accumulator`` gives (the first and last layer are not
    kept at higher precision: an assumption, see the module docstring)."""
    model = to_integer(_tiny(5, 3, 2), act_bits=3, input_bits=4)
    init_integer_steps(model, torch.randn(16, 5))
    set_accumulator(model, 8, "wrap", cyclic_activation=True)
    from methods.quantization.wrapnet import layer_precisions

    assert layer_precisions(model) == [
        {"weights": "ternary", "input_bits": 4, "signed_input": True, "fan_in": 5,
         "accumulator_bits": 8, "accumulator_mode": "wrap", "cyclic": True},
        {"weights": "ternary", "input_bits": 3, "signed_input": False, "fan_in": 3,
         "accumulator_bits": 8, "accumulator_mode": "wrap", "cyclic": True},
    ]
    first, second = integer_layers(model)
    assert (first.qn, first.qp, second.qn, second.qp) == (7, 7, 0, 7)
    # the no-overflow width: ceil(log2(5 * 1 * 7 + 1)) + 1 = 7 bits (first), ceil(log2(22)) + 1 = 6 (second)
    assert safe_width(model) == 7


def test_accumulator_sweep_overflow_rate_on_a_hand_made_case():
    """One Linear(4, 1), all weights equal (ternary codes all 1), no bias, step 1: inputs 7, 3, 1, 0
    in every position give exact sums 28, 12, 4, 0. A b-bit accumulator holds [-2^(b-1), 2^(b-1) - 1]:
    4 bits ([-8, 7]) loses 28 and 12 (rate 1/2), 5 bits ([-16, 15]) loses 28 (1/4), 6 bits and 32 none;
    negating the inputs gives the same rates (-28, -12 below -8; -28 below -16)."""
    layer = torch.nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        layer.weight.fill_(0.5)
    model = to_integer(torch.nn.Sequential(layer), act_bits=3, input_bits=4)
    (only,) = integer_layers(model)
    with torch.no_grad():
        only.step.fill_(1.0)
    x = torch.tensor([7.0, 3.0, 1.0, 0.0]).unsqueeze(1).repeat(1, 4)
    y = torch.zeros(4, dtype=torch.long)
    expected = {4: 0.5, 5: 0.25, 6: 0.0, 32: 0.0}
    for sign in (1, -1):
        for bits, rate in expected.items():
            set_accumulator(model, bits, "wrap")
            acc, rates = accuracy_and_overflow(model, sign * x, y, bits)
            assert rates == [rate] and acc == 100.0
    only.recording = True
    with torch.no_grad():
        model(x)
    assert only.exact.flatten().tolist() == [28.0, 12.0, 4.0, 0.0]
    only.recording = False


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
