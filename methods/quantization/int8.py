"""Real int8 inference on this CPU with PyTorch's x86 kernels, against the fastest fp32 layout.

Only two eager paths really compute in int8 here (``performance-facts.md``): dynamic quantization of
``nn.Linear`` (int8 weights, activations quantized on the fly) and static post-training quantization
of convolutions (fused conv-BN-ReLU, observers calibrated on a batch, then converted). Both come from
``torch.ao.quantization``, which is deprecated (it warns that it "will be removed in 2.10") but still
works in torch 2.13; it is used only to measure speed, never for the fake-quantization study.
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


def int8_model(model: nn.Module, calibration_x: torch.Tensor) -> tuple[nn.Module, str]:
    """An int8 copy of ``model`` and the path used: ``static`` for models with convolutions,
    ``dynamic`` for Linear-only models."""
    from torch.ao import quantization as tq

    if len(calibration_x) == 0:
        raise ConfigError("quantization.calibration_set", "empty", "at least one example")
    torch.backends.quantized.engine = "x86"
    model = copy.deepcopy(model).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        if not any(isinstance(m, nn.Conv2d) for m in model.modules()):
            return tq.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8), "dynamic"
        model = model.to(memory_format=torch.contiguous_format)
        tq.fuse_modules(model, _fusable_groups(model), inplace=True)
        wrapped = nn.Sequential(tq.QuantStub(), model, tq.DeQuantStub()).eval()
        wrapped.qconfig = tq.get_default_qconfig("x86")
        tq.prepare(wrapped, inplace=True)
        with torch.no_grad():
            wrapped(calibration_x)
        tq.convert(wrapped, inplace=True)
    return wrapped, "static"
