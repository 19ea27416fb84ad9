"""Real int8 inference on this CPU with PyTorch's quantized kernels, against the fastest fp32 layout.

The kernels come from the quantized engine the platform has (:func:`methods.core.cpu.int8_engine`:
``x86`` or ``fbgemm`` on x86-64, ``qnnpack`` on ARM); the caller passes its name, and the tables
name it beside the CPU. A platform without one gets no int8 model at all (``pipeline.evaluate_ptq``
then reports its int8 cells as not supported on this CPU).

Only two eager paths really compute in int8 here (``performance-facts.md``): dynamic quantization of
``nn.Linear`` (int8 weights, activations quantized on the fly) and static post-training quantization
of convolutions (fused conv-BN-ReLU, observers calibrated on a batch, then converted). Eager static
quantization fuses only Conv2d-BatchNorm2d runs inside Sequentials and cannot quantize a functional
``+``; residual networks (ResNets: BatchNorm as block attributes, shortcut sums) go through FX graph
mode instead, which traces the forward pass, fuses the same patterns and quantizes the additions
(same default qconfig of the engine). All of it comes from ``torch.ao.quantization``, which is deprecated (it
warns that it "will be removed in 2.10") but still works in torch 2.13; it is used only to measure
speed, never for the fake-quantization study.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

from methods.core.errors import ConfigError


def _fusable_groups(model: nn.Module) -> list[list[str]]:
    """Names of [Conv2d, BatchNorm2d(, ReLU)] runs inside Sequentials, for ``fuse_modules``."""
    groups = []
    for prefix, module in model.named_modules():
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for i, name in enumerate(names[:-1]):
            if isinstance(module._modules[name], nn.Conv2d) and isinstance(module._modules[names[i + 1]], nn.BatchNorm2d):
                group = [name, names[i + 1]]
                if i + 2 < len(names) and isinstance(module._modules[names[i + 2]], nn.ReLU):
                    group.append(names[i + 2])
                groups.append([f"{prefix}.{n}" if prefix else n for n in group])
    return groups


def _static_fx(model: nn.Module, calibration_x: torch.Tensor, engine: str) -> nn.Module:
    from torch.ao.quantization import get_default_qconfig_mapping, quantize_fx

    prepared = quantize_fx.prepare_fx(model, get_default_qconfig_mapping(engine), (calibration_x[:1],))
    with torch.no_grad():
        prepared(calibration_x)
    return quantize_fx.convert_fx(prepared)


def int8_path(model: nn.Module) -> str:
    """The path :func:`int8_model` takes for ``model``: ``static`` for models with convolutions
    (``static-fx`` for residual ones, see the module docstring), ``dynamic`` for Linear-only models.
    It depends on the model only, so a platform without int8 kernels can still name the row."""
    if not any(isinstance(m, nn.Conv2d) for m in model.modules()):
        return "dynamic"
    batch_norms = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    return "static-fx" if len(_fusable_groups(model)) < batch_norms else "static"


def int8_model(model: nn.Module, calibration_x: torch.Tensor, engine: str) -> tuple[nn.Module, str]:
    """An int8 copy of ``model`` (on the CPU) for quantized ``engine`` and the path used (:func:`int8_path`)."""
    from torch.ao import quantization as tq

    if len(calibration_x) == 0:
        raise ConfigError("quantization.calibration_set", "empty", "at least one example")
    torch.backends.quantized.engine = engine
    model = copy.deepcopy(model).cpu().eval()
    calibration_x = calibration_x.cpu()
    path = int8_path(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        if path == "dynamic":
            return tq.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8), path
        model = model.to(memory_format=torch.contiguous_format)
        if path == "static-fx":
            return _static_fx(model, calibration_x, engine), path
        tq.fuse_modules(model, _fusable_groups(model), inplace=True)
        wrapped = nn.Sequential(tq.QuantStub(), model, tq.DeQuantStub()).eval()
        wrapped.qconfig = tq.get_default_qconfig(engine)
        tq.prepare(wrapped, inplace=True)
        with torch.no_grad():
            wrapped(calibration_x)
        tq.convert(wrapped, inplace=True)
    return wrapped, path


def dynamic_int8(model: nn.Module, engine: str) -> tuple[nn.Module, list[str]]:
    """A copy of ``model`` (on the CPU) whose ``nn.Linear`` layers are torch.ao dynamic int8 layers for
    quantized ``engine`` (qint8 weights quantized once per tensor, activations per batch on the fly),
    and the warnings torch raised while quantizing (first line of each, once).

    ``torch.ao.quantization.quantize_dynamic`` is deprecated in torch 2.13 (its DeprecationWarning says
    it "will be removed in 2.10" and points to torchao's ``quantize_``); torchao is not a dependency of
    the suite, and torch's own API still computes in int8 here. Unlike :func:`int8_model`, nothing is
    silenced: the warnings are returned for the caller to log and record."""
    from torch.ao import quantization as tq

    torch.backends.quantized.engine = engine
    model = copy.deepcopy(model).cpu().eval()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quantized = tq.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    raised = [f"{w.category.__name__}: {str(w.message).strip().splitlines()[0]}" for w in caught]
    return quantized, list(dict.fromkeys(raised))
