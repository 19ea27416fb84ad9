"""WrapNet: integer-exact layers with a b-bit accumulator, cyclic activation, overflow penalty.

Ni, Chu, Castañeda, Chiang, Studer & Goldstein, "WrapNet: Neural Net Inference with Ultra-Low-Precision
Arithmetic", ICLR 2021 (arXiv 2007.13242). Every layer between the first and the last computes the exact
integer sum ``z = sum_i w_i a_i + b`` of ternary weights (Li & Liu 2016, per output channel) and low-bit
activations (learned step sizes, Esser et al. 2020), passes it through the accumulator (:mod:`.accumulator`:
exact, wrap-around or clamp(final sum)), then rescales it by ``alpha * s`` to real units. A ReLU and the
next layer's unsigned activation quantizer follow (the clamp at 0 is the ReLU). :func:`layer_precisions`
says what each layer computes in.

What could be read of the paper (issue 17, re-checked): only its first page, i.e. the abstract and the
start of the introduction (arXiv v1 abstract: "low-resolution (8-bit) additions in the accumulators ...
inserting a cyclic activation layer, as well as an overflow penalty regularizer"; ICLR abstract: a
cyclic activation layer "that makes results invariant to overflow"), from the stored copies
docslib.org/doc/13398046 and the ICLR 2021 text mirrored at object.cloud.sdsc.edu (ml-papers-txt/ICLR/2021).
Sections 3-4 (the activation's formula, the penalty, the layer precisions, where BatchNorm sits) and
any official code could not be reached (no WrapNet repository in the code index). So:

* followed: b-bit two's-complement accumulation of low-bit products (8 bits the headline width); a
  cyclic (2^b-periodic) activation applied to the wrapped sums, so that overflow does not change the
  result; an overflow penalty added to the training loss; WrapNet fine-tunes a normally trained
  quantized net.
* assumed, not transcribed: the activation's shape, the continuous odd triangle wave that is the
  identity on ``[-c, c]`` and falls linearly to 0 at ``+-2^(b-1)``: ``f(z) = c (2^(b-1) - z) / (2^(b-1) - c)``
  for ``z > c``, ``c = knee * 2^(b-1)`` (being periodic, ``f(wrap_b(z)) = f(z)``); the penalty,
  ``sum_layers mean(relu(|z| - c)) / 2^(b-1)`` on the exact sums; BatchNorm folded into the preceding
  convolution before quantizing (so it is inside the integer sum, not after the activation); and the
  layer precisions of the common practice for binary and ternary nets (Zhou et al. 2016, Rastegari et
  al. 2016; the LSQ convention of :mod:`.qmodules`): the first and the last layer keep 8-bit weights and
  inputs and an exact accumulator, every layer between them is ternary with ``act_bits`` inputs and the
  b-bit accumulator under study. Until issue 17 every layer, the first and last included, was ternary
  in the b-bit accumulator; the 4-bit input layer and the ternary classifier cost the normally trained
  Fashion-MNIST net about 10 points (76.8% against 86.5% with 8-bit edges, benchmarks/README.md).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from methods.core.errors import ConfigError
from methods.models.layout import in_layout_of

from . import accumulator
from .quantizers import QuantSpec, calibrate, grad_scale, qrange, ternarize


class _RoundSTE(torch.autograd.Function):
    """Exact ``round`` forward (integer values), identity backward (straight-through)."""

    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


def weight_codes(w: torch.Tensor, bits: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Integer weight codes and their per-output-channel scale ``alpha`` (``w ~ alpha * codes``):
    ternary codes in {-1, 0, 1} (Li & Liu 2016) for ``bits=None``, else symmetric narrow-range
    ``bits``-bit codes in ``[-(2^(b-1) - 1), 2^(b-1) - 1]`` with ``alpha = max|w| / (2^(b-1) - 1)``."""
    if bits is None:
        return ternarize(w, per_channel=True)
    alpha, _ = calibrate(w, QuantSpec(bits, True, True, "minmax"))
    return torch.clamp(torch.round(w / alpha), *qrange(bits, symmetric=True)), alpha


class _CodesSTE(torch.autograd.Function):
    """Integer weight codes forward (:func:`weight_codes`); backward ``grad / alpha`` (since ``w ~ alpha * codes``)."""

    @staticmethod
    def forward(ctx, w, bits):
        codes, alpha = weight_codes(w, bits)
        ctx.save_for_backward(alpha)
        return codes

    @staticmethod
    def backward(ctx, grad):
        (alpha,) = ctx.saved_tensors
        return grad / alpha, None


@dataclass
class AccumulatorSetting:
    bits: int = 32
    mode: str = "exact"  # exact | wrap | clamp
    cyclic: bool = False
    knee: float = 0.5


def cyclic(z: torch.Tensor, bits: int, knee: float) -> torch.Tensor:
    """The 2^b-periodic triangle wave described in the module docstring, applied to wrapped sums."""
    if not 0 < knee < 1:
        raise ConfigError("wrapnet.knee", knee, "in (0, 1)")
    half = float(2 ** (bits - 1))
    c = knee * half
    if bits >= 25:  # float32 sums never reach the falling segments
        return z
    z = accumulator.wrap(z, bits)
    # identity on [-c, c], slope -c/(half - c) outside: m - r (z - m) with m = clamp(z, -c, c) is the
    # same function in four element-wise passes (exact where |z| <= c, since then z - m = 0)
    m = torch.clamp(z, -c, c)
    return m - (c / (half - c)) * (z - m)


class IntegerLayer(nn.Module):
    """A Conv2d or Linear run as integer arithmetic: integer weight codes x low-bit activation codes.

    The input is quantized with a learned step (signed narrow range for the network's input,
    unsigned after a ReLU), the weights to integer codes with a per-channel scale ``alpha``
    (:func:`weight_codes`: ternary, or ``weight_bits`` for the 8-bit first and last layers); the exact
    integer sum plus the integer bias goes through the accumulator, and one accumulator unit is worth
    ``alpha * step`` in real units. A layer with ``accumulates=False`` (the first and last) keeps an
    exact (32-bit) accumulator whatever :func:`set_accumulator` gives the others, and rescales its
    weight codes before the sum rather than the sum after it (the same function).
    """

    def __init__(self, layer: nn.Conv2d | nn.Linear, act_bits: int, signed: bool, weight_bits: int | None = None,
                 accumulates: bool = True):
        super().__init__()
        self.layer = layer
        self.signed = signed
        self.weight_bits = weight_bits
        self.weight_max = 1 if weight_bits is None else 2 ** (weight_bits - 1) - 1
        self.accumulates = accumulates
        self.qp = 2 ** (act_bits - 1) - 1 if signed else 2**act_bits - 1
        self.qn = self.qp if signed else 0
        self.step = nn.Parameter(torch.tensor(float("nan")))
        self.accumulator = AccumulatorSetting()
        self.exact: torch.Tensor | None = None  # the last exact sums, kept while recording
        self.recording = False
        self.penalty = torch.zeros(())

    @property
    def fan_in(self) -> int:
        return self.layer.weight[0].numel()

    def init_step(self, a: torch.Tensor) -> None:
        """LSQ initialization from a batch of float inputs: ``2 mean|a| / sqrt(Q_P)``."""
        with torch.no_grad():
            self.step.fill_(float(2 * a.abs().mean() / self.qp**0.5))

    def _sum(self, a_int: torch.Tensor, codes: torch.Tensor, b_int: torch.Tensor) -> torch.Tensor:
        """``sum_i w_i a_i + b`` in one convolution/linear call. With integer operands the float32 sum is
        exact (:func:`accumulator.check_float_exact`) wherever the bias enters it."""
        if isinstance(self.layer, nn.Conv2d):
            return self.layer._conv_forward(a_int, in_layout_of(self.layer.weight, codes), b_int)
        return F.linear(a_int, codes, b_int)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        if torch.isnan(self.step):
            raise RuntimeError("integer layers need init_integer_steps(model, x) before the first forward pass")
        setting = self.accumulator
        step = grad_scale(self.step, 1.0 / (a[0].numel() * self.qp) ** 0.5)
        a_int = _RoundSTE.apply(torch.clamp(a / step, -self.qn, self.qp))
        w = self.layer.weight
        codes = _CodesSTE.apply(w, self.weight_bits)
        _, alpha = weight_codes(w.detach(), self.weight_bits)
        unit = alpha.reshape(-1) * step  # real value of one accumulator unit, per output channel
        bias = self.layer.bias if self.layer.bias is not None else torch.zeros_like(unit)
        b_int = _RoundSTE.apply(bias / unit)
        if not self.accumulates:
            # an exact accumulator: scaling the products before summing them is the same function (up
            # to float32 rounding) and saves an activation-sized pass forward and two backward
            scaled = codes * unit.reshape((-1,) + (1,) * (codes.dim() - 1))
            return self._sum(a_int, scaled, b_int * unit)
        accumulator.check_float_exact(self.fan_in, self.weight_max, self.qp, int(b_int.detach().abs().max()))
        exact = self._sum(a_int, codes, b_int)
        if self.recording:
            self.exact = exact.detach()
        half = float(2 ** (setting.bits - 1))
        # the cyclic activation wraps its input itself (f(wrap_b(z)) = f(z)): no second wrap before it
        wraps_itself = setting.cyclic and setting.mode == "wrap"
        z = exact if wraps_itself else accumulator.accumulate(exact, setting.bits, setting.mode)
        self.penalty = exact.new_zeros(())
        if setting.cyclic:
            self.penalty = F.relu(exact.abs() - setting.knee * half).mean() / half
            z = cyclic(z, setting.bits, setting.knee)
        return z * unit.reshape((1, -1) + (1,) * (a.dim() - 2))


def to_integer(model: nn.Module, act_bits: int = 3, edge_bits: int = 8) -> nn.Module:
    """A BN-folded copy of ``model`` whose Conv2d/Linear layers are :class:`IntegerLayer` s.

    The first and last layers the input passes through (traced call order) keep ``edge_bits`` weights
    and inputs (the first on the signed network input) and an exact accumulator; every layer between
    them has ternary weights, ``act_bits`` unsigned (post-ReLU) inputs and the b-bit accumulator under
    study (see the module docstring: the common practice for binary and ternary nets, assumed for
    WrapNet). In residual networks every convolution between them, shortcut convolutions included,
    accumulates in the b-bit accumulator; the shortcut sums are taken after rescaling, in real units,
    outside it.
    """
    from .qmodules import fold_batchnorm, layers_in_call_order, replace_module

    if act_bits not in range(2, 9) or edge_bits not in range(2, 9):
        raise ConfigError("wrapnet.act_bits/edge_bits", (act_bits, edge_bits), "integers in [2, 8]")
    integer = fold_batchnorm(model)
    order = layers_in_call_order(integer)
    if len(order) < 3:
        raise ConfigError("wrapnet.model", type(model).__name__,
                          "a model with a Conv2d or Linear layer between its first and last (those stay at 8 bits)")
    for i, target in enumerate(order):
        edge = i in (0, len(order) - 1)
        layer = IntegerLayer(integer.get_submodule(target), edge_bits if edge else act_bits, signed=i == 0,
                             weight_bits=edge_bits if edge else None, accumulates=not edge)
        replace_module(integer, target, layer)
    return integer


def integer_layers(model: nn.Module) -> list[IntegerLayer]:
    """Every integer layer, in module order."""
    return [m for m in model.modules() if isinstance(m, IntegerLayer)]


def accumulating_layers(model: nn.Module) -> list[IntegerLayer]:
    """The integer layers with the b-bit accumulator under study (all but the first and last)."""
    return [m for m in integer_layers(model) if m.accumulates]


def layer_precisions(model: nn.Module) -> list[dict]:
    """What each integer layer computes in, in module order: weights (ternary or b-bit codes), its input
    (bits, signed or not), its fan-in, and its accumulator (bits and mode)."""
    return [{"weights": "ternary" if layer.weight_bits is None else f"{layer.weight_bits}-bit",
             "input_bits": (layer.qp + 1).bit_length() if layer.signed else layer.qp.bit_length(),
             "signed_input": layer.signed, "fan_in": layer.fan_in, "accumulator_bits": layer.accumulator.bits,
             "accumulator_mode": layer.accumulator.mode, "cyclic": layer.accumulator.cyclic}
            for layer in integer_layers(model)]


def init_integer_steps(model: nn.Module, x: torch.Tensor) -> None:
    """Initialize every layer's input step from the float activations the batch ``x`` produces."""
    layers = integer_layers(model)
    hooks = [layer.register_forward_pre_hook(lambda mod, args: mod.init_step(args[0])) for layer in layers]
    for layer in layers:  # a provisional step so that the forward pass can run
        with torch.no_grad():
            layer.step.fill_(1.0)
    saved = [layer.accumulator for layer in layers]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
        for layer, setting in zip(layers, saved):
            layer.accumulator = setting


def set_accumulator(model: nn.Module, bits: int, mode: str, cyclic_activation: bool = False, knee: float = 0.5) -> None:
    """Give every accumulating layer a ``bits``-wide accumulator in ``mode`` (checked against its operands)."""
    for layer in accumulating_layers(model):
        accumulator.check_operands(bits, layer.weight_max, layer.qp)
        layer.accumulator = AccumulatorSetting(bits, mode, cyclic_activation, knee)


def safe_width(model: nn.Module) -> int:
    """The narrowest accumulator that no accumulating layer of ``model`` can overflow (worst-case bound, bias ignored)."""
    return max(accumulator.safe_bits(layer.fan_in, layer.weight_max, layer.qp) for layer in accumulating_layers(model))


def accuracy_and_overflow(model: nn.Module, x, y: torch.Tensor, bits: int,
                          batch_size: int = 256) -> tuple[float, list[float]]:
    """Top-1 accuracy (%) on ``(x, y)`` (a tensor or image files) and, from the same forward pass, each
    accumulating layer's fraction of outputs whose exact sum does not fit in ``bits`` (under the
    accumulator the model is set to). Runs on the GPU when there is one.

    The sums are exact integers, so the batch size changes no figure; 256 keeps the recorded sums of
    every layer small (at 1,024 a Fashion-MNIST evaluation peaked at 3.1 GB)."""
    from methods.models.training import eval_batches, on_compute_device

    model.eval()
    layers = accumulating_layers(model)
    counts, totals, correct, start = [0] * len(layers), [0] * len(layers), 0, 0
    for layer in layers:
        layer.recording = True
    try:
        with torch.no_grad(), on_compute_device(model) as device:
            for xb in eval_batches(x, batch_size, device):
                logits = model(xb)
                correct += int((logits.argmax(1).cpu() == y[start:start + len(xb)]).sum())
                start += len(xb)
                for i, layer in enumerate(layers):
                    counts[i] += int(accumulator.overflows(layer.exact, bits).sum())
                    totals[i] += layer.exact.numel()
    finally:
        for layer in layers:
            layer.recording, layer.exact = False, None
    return 100.0 * correct / len(x), [c / t for c, t in zip(counts, totals)]


def naive_sweep(model: nn.Module, x, y: torch.Tensor, widths, batch_size: int = 256) -> dict[int, dict]:
    """For each width b: the wrap-around accuracy (%) and each layer's overflow rate (the wrapping pass's,
    as :func:`accuracy_and_overflow`), and the clamp(final sum) accuracy (%), of ``model`` as it is.

    The same figures as a wrap and a clamp pass over all of ``x`` per width, for less: one exact pass
    records, per example, the largest and smallest sum of any layer; an example all of whose sums fit
    in b bits has the same sums under wrap and clamp (layer by layer, each accumulator is the identity
    on them), so only the examples that overflow somewhere are run again at b bits. Inputs that are
    not a tensor (image files) are run again in full."""
    layers = accumulating_layers(model)
    saved = [layer.accumulator for layer in layers]
    n = len(y)
    set_accumulator(model, 32, "exact")
    hi, lo, correct = [], [], []

    def stats(xb, logits):
        correct.append(logits.argmax(1).cpu() == y[sum(len(c) for c in correct):][:len(xb)])
        sums = [layer.exact.flatten(1) for layer in layers]
        hi.append(torch.stack([s.max(1).values for s in sums]).max(0).values.cpu())
        lo.append(torch.stack([s.min(1).values for s in sums]).min(0).values.cpu())

    try:
        _passes(model, x, batch_size, stats)
        hi, lo, correct = torch.cat(hi), torch.cat(lo), torch.cat(correct)
        out = {}
        for bits in widths:
            half = 2 ** (bits - 1)
            again = (hi > half - 1) | (lo < -half) if isinstance(x, torch.Tensor) else torch.ones(n, dtype=torch.bool)
            row = {"overflow": [0.0] * len(layers)}
            for mode in ("wrap", "clamp"):
                right = int(correct[~again].sum())
                if again.any():
                    set_accumulator(model, bits, mode)
                    xs = x[again] if isinstance(x, torch.Tensor) else x
                    acc, rates = accuracy_and_overflow(model, xs, y[again], bits, batch_size)
                    right += round(acc * int(again.sum()) / 100)
                    if mode == "wrap":
                        row["overflow"] = [r * int(again.sum()) / n for r in rates]
                row[mode] = 100.0 * right / n
            out[bits] = row
        return out
    finally:
        for layer, setting in zip(layers, saved):
            layer.accumulator = setting


def _passes(model: nn.Module, x, batch_size: int, each) -> None:
    """One recording forward pass over ``x``; ``each(xb, logits)`` sees every batch's recorded sums."""
    from methods.models.training import eval_batches, on_compute_device

    model.eval()
    layers = accumulating_layers(model)
    for layer in layers:
        layer.recording = True
    try:
        with torch.no_grad(), on_compute_device(model) as device:
            for xb in eval_batches(x, batch_size, device):
                each(xb, model(xb))
    finally:
        for layer in layers:
            layer.recording, layer.exact = False, None


def wrapnet_loss(penalty_weight: float):
    """Cross-entropy plus ``penalty_weight`` times the model's overflow penalty (for ``train_classifier``)."""

    def loss(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        logits = F.cross_entropy(model(xb), yb)
        return logits + penalty_weight * sum(layer.penalty for layer in accumulating_layers(model))

    return loss


def as_wrapnet(naive: nn.Module, bits: int, knee: float) -> nn.Module:
    """A copy of a normally trained integer model that wraps at ``bits`` with the cyclic activation."""
    model = copy.deepcopy(naive)
    set_accumulator(model, bits, "wrap", cyclic_activation=True, knee=knee)
    return model
