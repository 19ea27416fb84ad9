"""Fake-quantized models: every Conv2d/Linear quantizes its weights and its input activations.

A setting name reads ``w<W>a<A>-<granularity>[-<calibration>]``: ``W`` weight bits (an integer, ``t``
ternary or ``b`` binary), ``A`` activation bits, ``granularity`` ``tensor`` or ``channel`` (weights; activations
are always per tensor), ``calibration`` ``minmax``, ``percentile`` or ``mse`` (default ``mse``).
Weights are symmetric; activations asymmetric (unsigned with a zero point). BatchNorm is folded into
the preceding convolution first (Jacob et al., CVPR 2018, Section 3.2), as integer inference needs.
The first and last layers stay at 8 bits in every mode (LSQ, Esser et al. 2020, Section 3), so that
PTQ, QAT and LSQ rows of one setting quantize the same layers.

Modes: ``ptq`` (scales from weights and a calibration batch, no training), ``qat`` (the same
quantizers, trained with the straight-through estimator; weight ranges follow the weights every step,
activation ranges stay at their calibrated values) and ``lsq`` (learned step sizes, Esser et al. 2020).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from methods.core.errors import ConfigError
from methods.models.layout import in_layout_of

from .quantizers import (
    SPECIAL_BITS,
    LsqQuantizer,
    QuantSpec,
    calibrate,
    fake_quantize,
    fake_quantize_special,
    qrange,
)

MODES = ("ptq", "qat", "lsq")
_SETTING = re.compile(r"^w(?P<w>\d+|t|b)a(?P<a>\d+)-(?P<g>tensor|channel)(?:-(?P<c>minmax|percentile|mse))?$")


@dataclass(frozen=True)
class QuantConfig:
    weight: QuantSpec
    activation: QuantSpec

    @classmethod
    def parse(cls, setting: str) -> "QuantConfig":
        match = _SETTING.match(setting)
        if not match:
            raise ConfigError("quantization.setting", setting, "w<bits|t|b>a<bits>-<tensor|channel>[-<minmax|percentile|mse>]")
        w = {"t": "ternary", "b": "binary"}.get(match["w"]) or int(match["w"])
        calibration = match["c"] or "mse"
        return cls(QuantSpec(w, True, match["g"] == "channel", calibration),
                   QuantSpec(int(match["a"]), False, False, calibration))


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in eval mode with every BatchNorm2d that reads only a Conv2d's output folded
    into that convolution.

    The pairs are found on the traced forward pass (``torch.fx``), not by module order, so the
    convolutions of residual blocks (attributes of the block, their sum added to a shortcut) fold as
    well as those of a Sequential. The result is a ``torch.fx.GraphModule`` with the model's module
    names; its Conv2d/Linear children can be replaced like any module's.
    """
    from torch.fx.experimental.optimization import fuse

    folded = fuse(copy.deepcopy(model).eval(), inplace=True)
    left = [name for name, module in folded.named_modules() if isinstance(module, nn.BatchNorm2d)]
    if left:
        raise ConfigError("quantization.model", type(model).__name__,
                          f"a model whose BatchNorm2d layers each follow a Conv2d (not folded: {left})")
    return folded.eval()


class QuantLayer(nn.Module):
    """A Conv2d or Linear whose weight and input go through fake quantizers."""

    def __init__(self, layer: nn.Conv2d | nn.Linear, config: QuantConfig, mode: str):
        super().__init__()
        if mode not in MODES:
            raise ConfigError("quantization.mode", mode, f"one of {list(MODES)}")
        self.layer, self.config, self.mode = layer, config, mode
        self.calibrating = False
        self.seen: list[torch.Tensor] = []
        self.register_buffer("a_scale", torch.ones(()))
        self.register_buffer("a_zero", torch.zeros(()))
        self.a_range = qrange(config.activation.bits, config.activation.symmetric)  # type: ignore[arg-type]
        self.w_lsq = LsqQuantizer(config.weight, layer.weight.shape[0]) if mode == "lsq" else None
        self.a_lsq: LsqQuantizer | None = None

    def quant_weight(self) -> torch.Tensor:
        w, spec = self.layer.weight, self.config.weight
        if self.w_lsq is not None:
            return self.w_lsq(w)
        if spec.bits in SPECIAL_BITS:
            return fake_quantize_special(w, spec)
        scale, zero = calibrate(w, spec)
        return fake_quantize(w, scale, zero, *qrange(spec.bits, spec.symmetric))  # type: ignore[arg-type]

    def quant_input(self, x: torch.Tensor) -> torch.Tensor:
        if self.a_lsq is not None:
            return self.a_lsq(x)
        return fake_quantize(x, self.a_scale, self.a_zero, *self.a_range)

    def finish_calibration(self) -> None:
        """Set the activation range from the inputs seen while calibrating."""
        if not self.seen:
            raise ConfigError("quantization.calibration_set", "empty", "at least one example")
        x = torch.cat([s.flatten() for s in self.seen])
        self.seen, self.calibrating = [], False
        spec = self.config.activation
        if self.mode == "lsq":
            signed = bool(x.min() < 0)
            lsq_spec = QuantSpec(spec.bits, symmetric=signed, per_channel=False, calibration=spec.calibration)
            self.a_lsq = LsqQuantizer(lsq_spec, activation=True)
            self.a_lsq.init_from(x)
            if self.w_lsq is not None:
                self.w_lsq.init_from(self.layer.weight)
            return
        scale, zero = calibrate(x, spec)
        self.a_scale.copy_(scale)
        self.a_zero.copy_(zero)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.calibrating:
            self.seen.append(x.detach())
            xq, wq = x, self.layer.weight
        else:
            xq, wq = self.quant_input(x), self.quant_weight()
        if isinstance(self.layer, nn.Conv2d):
            return self.layer._conv_forward(xq, in_layout_of(self.layer.weight, wq), self.layer.bias)
        return F.linear(xq, wq, self.layer.bias)


def layers_in_call_order(traced: torch.fx.GraphModule) -> list[str]:
    """The names of the Conv2d/Linear layers of a traced model in the order the input passes through
    them (each once): the first and last of them are the layers kept at higher precision."""
    modules = dict(traced.named_modules())
    return list(dict.fromkeys(node.target for node in traced.graph.nodes if node.op == "call_module"
                              and isinstance(modules[node.target], (nn.Conv2d, nn.Linear))))


def replace_module(root: nn.Module, target: str, module: nn.Module) -> None:
    """Put ``module`` in place of ``root``'s submodule named ``target`` (a dotted path)."""
    parent_name, _, name = target.rpartition(".")
    setattr(root.get_submodule(parent_name), name, module)


def edge_config(config: QuantConfig, bits: int) -> QuantConfig:
    """The ``bits``-bit config of the first and last layers: the setting's granularity and calibration."""
    w, a = config.weight, config.activation
    return QuantConfig(QuantSpec(bits, True, w.per_channel, w.calibration), QuantSpec(bits, False, False, a.calibration))


def quantize_model(model: nn.Module, config: QuantConfig, mode: str, calibration_x: torch.Tensor,
                   batch_size: int = 256, edge_bits: int | None = 8) -> nn.Module:
    """Fold BatchNorm, wrap every Conv2d/Linear in a :class:`QuantLayer` and calibrate on ``calibration_x``.

    The first and the last layer (in module order: the stem and the classifier) are quantized to
    ``edge_bits`` (weights and input; first and last in the traced call order), as the LSQ paper does for all its networks (Esser et al.,
    ICLR 2020, Section 3: "the first and last layers ... 8-bit", following Zhou et al. 2016 and
    Choi et al. 2018); ``edge_bits=None`` quantizes every layer at the setting.
    """
    if len(calibration_x) == 0:
        raise ConfigError("quantization.calibration_set", "empty", "at least one example")
    qmodel = fold_batchnorm(model)
    targets = layers_in_call_order(qmodel)
    for i, target in enumerate(targets):
        edge = edge_bits is not None and i in (0, len(targets) - 1)
        layer = qmodel.get_submodule(target)
        replace_module(qmodel, target, QuantLayer(layer, edge_config(config, edge_bits) if edge else config, mode))
    layers = [m for m in qmodel.modules() if isinstance(m, QuantLayer)]
    for layer in layers:
        layer.calibrating = True
    with torch.no_grad():
        for start in range(0, len(calibration_x), batch_size):
            qmodel(calibration_x[start:start + batch_size])
    for layer in layers:
        layer.finish_calibration()
    return qmodel


def packed_size_bytes(model: nn.Module) -> float:
    """Bytes to store the model: quantized weights at their bit width (ternary 2, binary 1), one
    fp32 scale per channel or tensor, everything else (biases, float layers) at 32 bits."""
    bits = 0.0
    quantized = set()
    for module in model.modules():
        if isinstance(module, QuantLayer):
            spec, weight = module.config.weight, module.layer.weight
            quantized.add(id(weight))
            bits += weight.numel() * spec.storage_bits + 32 * (weight.shape[0] if spec.per_channel else 1)
    bits += sum(32 * p.numel() for p in model.parameters() if id(p) not in quantized and p.dim() > 0
                and not _is_step(model, p))
    return bits / 8


def learned_steps(model: nn.Module) -> dict[str, torch.Tensor]:
    """Copies of the model's LSQ step sizes by quantizer name (none in ptq and qat models)."""
    return {name: m.step.detach().clone() for name, m in model.named_modules() if isinstance(m, LsqQuantizer)}


def step_change(before: dict[str, torch.Tensor], model: nn.Module) -> dict[str, float]:
    """Mean relative change |s - s0| / s0 of each LSQ quantizer's steps s since ``before`` (s0): how far
    fine-tuning moved them from their initialization 2<|v|>/sqrt(Q_P) (Esser et al. 2020, Sec. 2.1)."""
    after = learned_steps(model)
    return {name: float(((after[name] - s0).abs() / s0.abs()).mean()) for name, s0 in before.items()}


def _is_step(model: nn.Module, parameter: torch.Tensor) -> bool:
    return any(parameter is m.step for m in model.modules() if isinstance(m, LsqQuantizer))
