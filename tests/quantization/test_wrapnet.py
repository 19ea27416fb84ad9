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
