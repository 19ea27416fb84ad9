import random

import pytest
import torch
import torch.nn.functional as F

from methods.core.errors import ConfigError
from methods.quantization import accumulator


def _sequential_wrap(values, bits):
    """A b-bit two's-complement accumulator adding one product at a time (Python integers)."""
    acc, half, period = 0, 2 ** (bits - 1), 2**bits
    for v in values:
        acc = (acc + v + half) % period - half
    return acc


@pytest.mark.parametrize("bits", [8, 10, 12, 16])
def test_wrapping_the_exact_sum_equals_sequential_wrapping_accumulation(bits):
    rng = random.Random(bits)
    w = torch.tensor([[rng.choice([-1, 0, 1]) for _ in range(300)] for _ in range(20)], dtype=torch.float32)
    a = torch.tensor([[rng.randint(0, 7) for _ in range(300)] for _ in range(5)], dtype=torch.float32)
    wrapped = accumulator.wrap(F.linear(a, w), bits)
    for i in range(5):
        for j in range(20):
            products = [int(a[i, k]) * int(w[j, k]) for k in range(300)]
            assert int(wrapped[i, j]) == _sequential_wrap(products, bits)


def test_float32_sums_of_integer_operands_are_exact_below_2_to_24():
    rng = random.Random(0)
    w = [[rng.randint(-127, 127) for _ in range(512)] for _ in range(4)]
    a = [rng.randint(0, 255) for _ in range(512)]
    accumulator.check_float_exact(512, 127, 255)  # 512 * 127 * 255 < 2^24
    out = F.linear(torch.tensor([a], dtype=torch.float32), torch.tensor(w, dtype=torch.float32))
    assert [int(v) for v in out[0]] == [sum(x * y for x, y in zip(row, a)) for row in w]


def test_float_exactness_guard_rejects_sums_that_could_round():
    with pytest.raises(ConfigError, match="exact_sum_bound"):
        accumulator.check_float_exact(1024, 127, 255)  # 33 M > 2^24


def test_wrap_clamp_and_overflow_mask():
    x = torch.tensor([-300.0, -129.0, -128.0, 0.0, 127.0, 128.0, 448.0])
    assert accumulator.wrap(x, 8).tolist() == [-44.0, 127.0, -128.0, 0.0, 127.0, -128.0, -64.0]
    assert accumulator.saturate(x, 8).tolist() == [-128.0, -128.0, -128.0, 0.0, 127.0, 127.0, 127.0]
    assert accumulator.overflows(x, 8).tolist() == [True, True, False, False, False, True, True]


def test_wrap_passes_gradients_as_the_identity():
    x = torch.tensor([100.0, 200.0], requires_grad=True)
    accumulator.wrap(x, 8).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_brief_example_64_inputs_3_bit_ternary_needs_10_bits():
    # 64 * 7 = 448 exceeds int8's 127; the safe width holds it
    assert accumulator.safe_bits(64, 1, 7) == 10
    assert 64 * 7 <= 2 ** (10 - 1) - 1


def test_an_accumulator_narrower_than_one_product_is_an_error():
    accumulator.check_operands(4, 1, 7)
    with pytest.raises(ConfigError, match="accumulator_bits"):
        accumulator.check_operands(3, 1, 7)
    with pytest.raises(ConfigError, match="accumulator_bits"):
        accumulator.check_operands(40, 1, 7)


def test_unknown_accumulator_mode_is_an_error():
    with pytest.raises(ConfigError, match="accumulator_mode"):
        accumulator.accumulate(torch.zeros(2), 8, "saturate-each-step")
