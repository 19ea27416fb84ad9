"""Uniform quantizers on plain torch: ranges, calibration, straight-through fake quantization, LSQ.

A b-bit uniform quantizer maps ``x`` to ``q = clamp(round(x / s) + z, q_min, q_max)`` and back to
``x_hat = s * (q - z)`` (Jacob et al., CVPR 2018, Eq. 1). Symmetric quantizers have ``z = 0`` and the
narrow signed range ``[-(2^(b-1) - 1), 2^(b-1) - 1]``; asymmetric ones map ``[min, max]`` onto
``[0, 2^b - 1]``. Ternary weights are ``{-1, 0, +1} * alpha`` with the threshold ``0.7 * mean|w|``
of Li & Liu (Ternary Weight Networks, 2016, Eq. 9-10); binary weights are ``sign(w) * mean|w|``
(Rastegari et al., XNOR-Net, ECCV 2016, Eq. 3-4). Gradients pass through the rounding with the
clipped straight-through estimator (Bengio et al. 2013): identity inside the range, zero outside.
Learned step size quantization follows Esser et al. (LSQ, ICLR 2020, Eq. 1-3 and Section 2.2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from methods.core.errors import ConfigError

INTEGER_BITS = (2, 3, 4, 5, 6, 7, 8, 16)
SPECIAL_BITS = ("ternary", "binary")
CALIBRATIONS = ("minmax", "percentile", "mse")
PERCENTILE = 99.99
_MSE_GRID = 40


@dataclass(frozen=True)
class QuantSpec:
    """How one tensor is quantized.

    ``bits``: an integer in :data:`INTEGER_BITS`, or ``"ternary"`` / ``"binary"`` (weights only).
    ``symmetric``: zero point 0 (signed narrow range) or an asymmetric range with a zero point.
    ``per_channel``: one scale per output channel (axis 0) instead of one per tensor.
    ``calibration``: how the range is chosen from data (min-max, 99.99th percentile of the
    magnitudes, or the clipping ratio minimizing the mean squared quantization error).
    """

    bits: int | str
    symmetric: bool = True
    per_channel: bool = False
    calibration: str = "minmax"

    def __post_init__(self):
        if self.bits not in INTEGER_BITS and self.bits not in SPECIAL_BITS:
            raise ConfigError("quantization.bits", self.bits, f"one of {list(INTEGER_BITS) + list(SPECIAL_BITS)}")
        if self.calibration not in CALIBRATIONS:
            raise ConfigError("quantization.calibration", self.calibration, f"one of {list(CALIBRATIONS)}")
        if self.bits in SPECIAL_BITS and not self.symmetric:
            raise ConfigError("quantization.symmetric", self.symmetric, f"True for {self.bits} weights")

    @property
    def storage_bits(self) -> int:
        """Bits per stored value: ternary needs 2, binary 1."""
        return {"ternary": 2, "binary": 1}.get(self.bits, self.bits)  # type: ignore[arg-type]

    @property
    def label(self) -> str:
        return {"ternary": "T", "binary": "B"}.get(self.bits, str(self.bits))  # type: ignore[arg-type]


def qrange(bits: int, symmetric: bool) -> tuple[int, int]:
    """Integer range: symmetric narrow signed ``[-(2^(b-1)-1), 2^(b-1)-1]``, else ``[0, 2^b - 1]``."""
    if symmetric:
        top = 2 ** (bits - 1) - 1
        return -top, top
    return 0, 2**bits - 1


def _reduce_dims(x: torch.Tensor, per_channel: bool) -> tuple[int, ...]:
    return tuple(range(1, x.dim())) if per_channel and x.dim() > 1 else tuple(range(x.dim()))


def _shape(value: torch.Tensor, x: torch.Tensor, per_channel: bool) -> torch.Tensor:
    if per_channel and x.dim() > 1:
        return value.reshape(-1, *([1] * (x.dim() - 1)))
    return value.reshape(())


def _quantile(x: torch.Tensor, q: float, dims: tuple[int, ...]) -> torch.Tensor:
    """Quantile over ``dims`` (on at most 2^20 evenly strided values per channel, for speed)."""
    flat = x.flatten(start_dim=1) if len(dims) < x.dim() else x.reshape(1, -1)
    step = max(1, flat.shape[1] // (1 << 20))
    values = torch.quantile(flat[:, ::step].float(), q, dim=1)
    return values if len(dims) < x.dim() else values[0]


def quantize_dequantize(x: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor, qmin: int, qmax: int) -> torch.Tensor:
    """``s * (clamp(round(x / s) + z, qmin, qmax) - z)`` without gradient tricks."""
    return scale * (torch.clamp(torch.round(x / scale) + zero_point, qmin, qmax) - zero_point)


def fake_quantize(x: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor, qmin: int, qmax: int) -> torch.Tensor:
    """Quantize-dequantize with the clipped straight-through estimator: gradient 1 where
    ``round(x / s) + z`` falls inside ``[qmin, qmax]``, else 0.

    Uses torch's fused ``fake_quantize_per_tensor_affine`` / ``fake_quantize_per_channel_affine``
    kernels (core ATen operators, not ``torch.ao``): one pass forward and backward, which keeps a QAT
    step near 1.5x the float step (``performance-facts.md``). ``scale`` of shape ``()`` or ``(1,)`` is
    per tensor; shaped ``(C, 1, ...)`` it is per channel along axis 0.
    """
    zero_point = zero_point.round().to(torch.int32)
    if scale.numel() == 1:
        return torch.fake_quantize_per_tensor_affine(x, scale.reshape(1).float(), zero_point.reshape(1), qmin, qmax)
    return torch.fake_quantize_per_channel_affine(x, scale.reshape(-1).float(), zero_point.reshape(-1), 0, qmin, qmax)


def ternarize(w: torch.Tensor, per_channel: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Ternary weight network (Li & Liu 2016): integer codes in {-1, 0, 1} and the scale alpha."""
    dims = _reduce_dims(w, per_channel)
    magnitude = w.abs()
    delta = 0.7 * magnitude.mean(dim=dims, keepdim=True)
    mask = (magnitude > delta).to(w.dtype)
    alpha = (magnitude * mask).sum(dim=dims, keepdim=True) / mask.sum(dim=dims, keepdim=True).clamp_min(1)
    return torch.sign(w) * mask, alpha.clamp_min(1e-12)


def binarize(w: torch.Tensor, per_channel: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Binary weights (XNOR-Net): codes sign(w) in {-1, 1} and the scale mean|w|."""
    alpha = w.abs().mean(dim=_reduce_dims(w, per_channel), keepdim=True)
    return torch.where(w >= 0, torch.ones_like(w), -torch.ones_like(w)), alpha.clamp_min(1e-12)


def fake_quantize_special(w: torch.Tensor, spec: QuantSpec) -> torch.Tensor:
    """Ternary or binary fake quantization; the straight-through gradient is the identity."""
    codes, alpha = (ternarize if spec.bits == "ternary" else binarize)(w.detach(), spec.per_channel)
    return w + (codes * alpha - w).detach()


def _params_from_range(low: torch.Tensor, high: torch.Tensor, spec: QuantSpec) -> tuple[torch.Tensor, torch.Tensor]:
    qmin, qmax = qrange(spec.bits, spec.symmetric)  # type: ignore[arg-type]
    if spec.symmetric:
        scale = torch.maximum(low.abs(), high.abs()) / qmax
        return scale.clamp_min(1e-12), torch.zeros_like(scale)
    low, high = torch.minimum(low, torch.zeros_like(low)), torch.maximum(high, torch.zeros_like(high))
    scale = ((high - low) / (qmax - qmin)).clamp_min(1e-12)
    return scale, torch.round(qmin - low / scale)


def calibrate(x: torch.Tensor, spec: QuantSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale and zero point of an integer-bit quantizer for the values ``x`` (shaped to broadcast).

    ``per_channel`` reduces over every axis but 0. An empty ``x`` raises :class:`ConfigError`.
    """
    if x.numel() == 0:
        raise ConfigError("quantization.calibration_set", "empty", "at least one example")
    if spec.bits in SPECIAL_BITS:
        raise ConfigError("quantization.bits", spec.bits, "integer bits for range calibration")
    x = x.detach().float()
    dims = _reduce_dims(x, spec.per_channel)
    if spec.calibration == "percentile":
        if spec.symmetric:
            high = _quantile(x.abs(), PERCENTILE / 100, dims)
            low = -high
        else:
            low, high = _quantile(x, 1 - PERCENTILE / 100, dims), _quantile(x, PERCENTILE / 100, dims)
    else:
        low, high = x.amin(dim=dims), x.amax(dim=dims)
    if spec.calibration == "mse":
        low, high = _mse_search(x, low, high, spec, dims)
    scale, zero_point = _params_from_range(low, high, spec)
    return _shape(scale, x, spec.per_channel), _shape(zero_point, x, spec.per_channel)


def squared_error(x: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor | None, qmin: int, qmax: int,
                  out: torch.Tensor) -> torch.Tensor:
    """``(quantize_dequantize(x, ...) - x) ** 2`` element-wise, bit for bit, computed in place in ``out``
    (shaped like ``x``): the MSE search evaluates it 40 times per tensor, and on CPUs a fresh
    activation-sized tensor per operation costs more than the arithmetic. ``zero_point=None`` is a
    symmetric quantizer's zero point 0 (adding and subtracting it changes no value)."""
    err = torch.div(x, scale, out=out).round_()
    symmetric = zero_point is None
    if not symmetric:
        err.add_(zero_point)
    err.clamp_(qmin, qmax)
    if not symmetric:
        err.sub_(zero_point)
    err.mul_(scale).sub_(x)
    return err.mul_(err)


def _mse_search(x, low, high, spec, dims):
    """Shrink the min-max range by the ratio in (0, 1] that minimizes the squared error (per channel)."""
    qmin, qmax = qrange(spec.bits, spec.symmetric)
    best_err, best_low, best_high = None, low, high
    buffer = torch.empty_like(x)
    for ratio in torch.linspace(1.0, 1.0 / _MSE_GRID, _MSE_GRID):
        cand_low, cand_high = low * ratio, high * ratio
        scale, zero = _params_from_range(cand_low, cand_high, spec)
        scale, zero = _shape(scale, x, spec.per_channel), _shape(zero, x, spec.per_channel)
        err = squared_error(x, scale, None if spec.symmetric else zero, qmin, qmax, buffer).mean(dim=dims)
        if best_err is None:
            best_err = err
            continue
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best_low, best_high = torch.where(better, cand_low, best_low), torch.where(better, cand_high, best_high)
    return best_low, best_high


def grad_scale(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Forward ``x``, backward gradient times ``factor`` (LSQ Section 2.2)."""
    return (x - x * factor).detach() + x * factor


class LsqFunction(torch.autograd.Function):
    """LSQ's quantizer with the paper's gradients (Esser et al., ICLR 2020).

    Forward (Eq. 1-2): ``v_hat = round(clip(v / s, -Q_N, Q_P)) * s``.
    Backward, step size (Eq. 3), times the gradient scale ``g`` (Section 2.2)::

        d v_hat / d s = -v/s + round(v/s)   if -Q_N < v/s < Q_P
                      = -Q_N                if v/s <= -Q_N
                      = Q_P                 if v/s >= Q_P

    Backward, data (Section 2.1, straight-through estimator): 1 where ``-Q_N < v/s < Q_P``, else 0.
    ``s`` broadcasts against ``v`` (one step, or one per output channel shaped ``(C, 1, ...)``); its
    gradient is summed over the elements each step quantizes. Written out rather than through torch's
    fused ``_fake_quantize_learnable_*`` kernels, whose masks test ``round(v/s)`` against the range and
    so differ from Eq. 3 within half a step beyond each end of it.
    """

    @staticmethod
    def forward(ctx, v, s, qn: int, qp: int, g: float):
        scaled = v / s
        ctx.save_for_backward(scaled)
        ctx.qn, ctx.qp, ctx.g, ctx.s_shape = qn, qp, g, s.shape
        return torch.round(torch.clamp(scaled, -qn, qp)) * s

    @staticmethod
    def backward(ctx, grad):
        (scaled,) = ctx.saved_tensors
        below, above = scaled <= -ctx.qn, scaled >= ctx.qp
        inside = ~(below | above)
        d_step = torch.where(below, -float(ctx.qn), torch.where(above, float(ctx.qp), torch.round(scaled) - scaled))
        grad_s = (grad * d_step).sum_to_size(ctx.s_shape) * ctx.g
        return grad * inside, grad_s, None, None, None


class LsqQuantizer(nn.Module):
    """Learned step size quantization (Esser et al., ICLR 2020), through :class:`LsqFunction`.

    Ranges as in Section 2.1: unsigned data (post-ReLU activations, asymmetric specs) ``Q_N = 0``,
    ``Q_P = 2^b - 1``; signed data ``Q_N = 2^(b-1)``, ``Q_P = 2^(b-1) - 1`` (the full two's-complement
    range, so 2-bit weights take the four levels -2, -1, 0, 1); ternary weights ``Q_N = Q_P = 1``.
    The step (one per output channel when ``per_channel``, an extension of the paper's one per layer)
    is initialized to ``2 <|v|> / sqrt(Q_P)`` (Section 2.1) and its gradient scaled by
    ``g = 1 / sqrt(N Q_P)`` (Section 2.2), ``N`` the number of weights per step, or of features per
    example for activations.
    """

    def __init__(self, spec: QuantSpec, channels: int = 1, activation: bool = False):
        super().__init__()
        self.activation = activation
        if spec.bits == "binary":
            raise ConfigError("quantization.bits", spec.bits, "integer bits or 'ternary' for LSQ")
        if spec.bits == "ternary":
            self.qn, self.qp = 1, 1
        elif spec.symmetric:
            self.qn, self.qp = 2 ** (spec.bits - 1), 2 ** (spec.bits - 1) - 1  # type: ignore[operator]
        else:
            self.qn, self.qp = 0, 2**spec.bits - 1  # type: ignore[operator]
        self.per_channel = spec.per_channel
        self.step = nn.Parameter(torch.ones(channels if spec.per_channel else 1))
        self.register_buffer("initialized", torch.tensor(False))

    def init_from(self, x: torch.Tensor) -> None:
        with torch.no_grad():
            dims = _reduce_dims(x, self.per_channel)
            mean = x.detach().abs().mean(dim=dims).reshape(-1)
            self.step.copy_((2 * mean / math.sqrt(self.qp)).clamp_min(1e-8).expand_as(self.step))
            self.initialized.fill_(True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not bool(self.initialized):
            self.init_from(x)
        per_channel = self.per_channel and x.dim() > 1
        # N of Section 2.2: weights per step, or features per example for activations
        per_step = x[0].numel() if (per_channel or self.activation) and x.dim() > 1 else x.numel()
        step = self.step.reshape(-1, *([1] * (x.dim() - 1))) if per_channel else self.step.reshape(())
        return LsqFunction.apply(x, step, self.qn, self.qp, 1.0 / math.sqrt(per_step * self.qp))
