import pytest
import torch

from methods.core.errors import ConfigError
from methods.quantization.quantizers import (
    LsqQuantizer,
    QuantSpec,
    binarize,
    calibrate,
    fake_quantize,
    qrange,
    quantize_dequantize,
    squared_error,
    ternarize,
)


def test_ranges_symmetric_narrow_and_unsigned():
    assert qrange(8, True) == (-127, 127)
    assert qrange(4, False) == (0, 15)
    assert qrange(2, True) == (-1, 1)


@pytest.mark.parametrize("bits", [8, 6, 4, 3, 2])
@pytest.mark.parametrize("per_channel", [False, True])
def test_minmax_error_is_at_most_half_a_step(bits, per_channel):
    w = torch.randn(16, 9, generator=torch.Generator().manual_seed(bits))
    spec = QuantSpec(bits, symmetric=True, per_channel=per_channel)
    scale, zero = calibrate(w, spec)
    assert scale.shape == ((16, 1) if per_channel else ())
    err = (quantize_dequantize(w, scale, zero, *qrange(bits, True)) - w).abs()
    assert bool((err <= scale / 2 + 1e-6).all())


def test_asymmetric_maps_the_range_onto_all_levels():
    x = torch.rand(1000) * 5 + 1  # [1, 6]: the range is widened to include 0
    scale, zero = calibrate(x, QuantSpec(4, symmetric=False))
    q = torch.round(x / scale) + zero
    assert int(zero) == 0 and q.max() == 15


def test_percentile_clips_outliers_and_mse_beats_minmax_at_low_bits():
    g = torch.Generator().manual_seed(0)
    x = torch.cat([torch.randn(20000, generator=g), torch.tensor([40.0])])
    minmax = calibrate(x, QuantSpec(4, calibration="minmax"))[0]
    pct = calibrate(x, QuantSpec(4, calibration="percentile"))[0]
    mse = calibrate(x, QuantSpec(4, calibration="mse"))[0]
    assert pct < minmax / 5
    err = lambda s: float((quantize_dequantize(x, s, torch.zeros(()), -7, 7) - x).pow(2).mean())  # noqa: E731
    assert err(mse) < err(minmax)


def test_ternary_and_binary_codes():
    w = torch.randn(8, 20, generator=torch.Generator().manual_seed(1))
    codes, alpha = ternarize(w, per_channel=True)
    assert set(codes.unique().tolist()) <= {-1.0, 0.0, 1.0} and alpha.shape == (8, 1)
    assert bool(((codes != 0) == (w.abs() > 0.7 * w.abs().mean(1, keepdim=True))).all())
    codes, alpha = binarize(w, per_channel=False)
    assert set(codes.unique().tolist()) == {-1.0, 1.0} and torch.isclose(alpha, w.abs().mean())


def test_straight_through_gradient_is_one_inside_and_zero_outside():
    x = torch.tensor([-3.0, -0.4, 0.2, 0.9, 5.0], requires_grad=True)
    out = fake_quantize(x, torch.tensor(0.1), torch.tensor(0.0), -7, 7)  # range [-0.7, 0.7]
    out.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 0.0, 0.0]
    assert torch.allclose(out, torch.tensor([-0.7, -0.4, 0.2, 0.7, 0.7]))


def test_lsq_learns_its_step_toward_lower_error():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4096, generator=g)
    quant = LsqQuantizer(QuantSpec(3, symmetric=True))
    quant.init_from(x * 10)  # a badly initialized step
    start = float(quant.step.detach())
    start_error = float((quant(x) - x).pow(2).mean().detach())
    opt = torch.optim.Adam(quant.parameters(), lr=0.05)
    for _ in range(200):
        loss = (quant(x) - x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(quant.step.detach()) < start / 3
    assert float((quant(x) - x).pow(2).mean().detach()) < start_error / 5


@pytest.mark.parametrize("bits", [1, 9, "quaternary"])
def test_unsupported_bits_name_the_setting(bits):
    with pytest.raises(ConfigError, match="quantization.bits"):
        QuantSpec(bits)


def test_empty_calibration_set_is_an_error():
    with pytest.raises(ConfigError, match="calibration_set"):
        calibrate(torch.empty(0), QuantSpec(8))


def test_unknown_calibration_is_an_error():
    with pytest.raises(ConfigError, match="quantization.calibration"):
        QuantSpec(8, calibration="kl")


def test_lsq_step_gradient_is_eq3_of_the_paper_on_a_hand_computed_case():
    """Esser et al. 2020, Eq. 3 with the gradient scale of Section 2.2, 2-bit signed: Q_N = 2, Q_P = 1.

    v / s = 0.6, -1.1, 3.4, -5.0, 0.1, -2.2 (s = 0.5). Eq. 3 gives round(v/s) - v/s inside the range
    (0.4, 0.1, -0.1), Q_P = 1 above it (3.4) and -Q_N = -2 at or below -Q_N (-5.0, and -2.2 too: the
    clip test, where a round-based mask would count it inside). Sum -2.6, times g = 1/sqrt(N Q_P) =
    1/sqrt(6).
    """
    quant = LsqQuantizer(QuantSpec(2, symmetric=True))
    assert (quant.qn, quant.qp) == (2, 1)
    with torch.no_grad():
        quant.step.fill_(0.5)
        quant.initialized.fill_(True)
    v = torch.tensor([0.3, -0.55, 1.7, -2.5, 0.05, -1.1], requires_grad=True)
    out = quant(v)
    out.sum().backward()
    assert out.tolist() == [0.5, -0.5, 0.5, -1.0, 0.0, -1.0]
    assert float(quant.step.grad) == pytest.approx(-2.6 / 6**0.5, abs=1e-6)
    assert v.grad.tolist() == [1.0, 1.0, 0.0, 0.0, 1.0, 0.0]


def test_lsq_per_channel_step_gradient_sums_each_channel_with_its_own_scale():
    quant = LsqQuantizer(QuantSpec(3, symmetric=True, per_channel=True), channels=2)
    assert (quant.qn, quant.qp) == (4, 3)
    with torch.no_grad():
        quant.step.copy_(torch.tensor([1.0, 0.5]))
        quant.initialized.fill_(True)
    w = torch.tensor([[0.4, 5.0], [-0.7, -3.0]])  # v/s: [0.4, 5.0] and [-1.4, -6.0]
    quant(w).sum().backward()
    g = 1 / (2 * 3) ** 0.5  # N = 2 weights per step
    assert quant.step.grad.tolist() == pytest.approx([(-0.4 + 3) * g, (0.4 - 4) * g], abs=1e-6)


def test_lsq_initial_step_is_twice_the_mean_magnitude_over_sqrt_qp():
    quant = LsqQuantizer(QuantSpec(4, symmetric=True))
    quant.init_from(torch.tensor([1.0, -3.0]))
    assert float(quant.step.detach()) == pytest.approx(2 * 2.0 / 7**0.5)
    unsigned = LsqQuantizer(QuantSpec(2, symmetric=False), activation=True)
    assert (unsigned.qn, unsigned.qp) == (0, 3)


@pytest.mark.parametrize("symmetric, per_channel", [(True, True), (True, False), (False, False)])
def test_in_place_squared_error_equals_quantize_dequantize_bit_for_bit(symmetric, per_channel):
    """The MSE search's in-place error is the out-of-place formula exactly, so calibrations do not move."""
    torch.manual_seed(0)
    x = torch.randn(64, 8, 5, 5) * 3
    x = x if symmetric else x.relu()
    dims = tuple(range(1, x.dim())) if per_channel else tuple(range(x.dim()))
    qmin, qmax = qrange(4, symmetric)
    for shrink in (1.0, 0.5, 0.13):
        scale = (x.abs().amax(dim=dims, keepdim=True) / qmax * shrink).clamp_min(1e-12)
        zero = torch.zeros_like(scale) if symmetric else torch.round(qmin - x.amin(dim=dims, keepdim=True) / scale)
        expected = (quantize_dequantize(x, scale, zero, qmin, qmax) - x).pow(2)
        got = squared_error(x, scale, None if symmetric else zero, qmin, qmax, torch.empty_like(x))
        assert torch.equal(got, expected)
