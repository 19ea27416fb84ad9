"""Candidate speed-ups of the hot loops, applied from outside ``methods/`` so the suite can time them.

Each keeps the computation the same (checked by :func:`check_equivalence` in the suite) and is
what the README proposes to change in ``methods/``:

* :func:`pool_before_relu` -- ``MaxPool2d`` before ``ReLU`` instead of after (SmallCNN; the Conv-4
  blocks do this, with channels_last weights, since commit fa981cb):
  max-pooling and ReLU commute (``relu(max(a, b)) == max(relu(a), relu(b))``), so the output is
  bit-identical, and ReLU and its backward touch a quarter of the values. No parameters move, so
  the state dict keys are unchanged.
* :class:`VectorizedFakeQuantize` -- per-tensor fake quantization with the clipped straight-through
  gradient from plain vectorized tensor ops instead of ``torch.fake_quantize_per_tensor_affine``,
  whose CPU kernel (``_fake_quantize_per_tensor_affine_cachemask_tensor_qparams``) is scalar code:
  on a 128x32x14x14 activation it is about 4x slower than the ops below. Same arithmetic as the
  ATen kernel (``x * (1 / scale)``, round half to even, add the zero point, clamp), so values and
  gradients are bit-identical.
"""

from __future__ import annotations

import types

import torch
from torch import nn


def pool_before_relu(model: nn.Module) -> nn.Module:
    """Swap every ``ReLU`` directly followed by ``MaxPool2d`` in the model's Sequentials (in place)."""
    for module in model.modules():
        if isinstance(module, nn.Sequential):
            for i in range(len(module) - 1):
                if isinstance(module[i], nn.ReLU) and isinstance(module[i + 1], nn.MaxPool2d):
                    module[i], module[i + 1] = module[i + 1], module[i]
    return model


class VectorizedFakeQuantize(torch.autograd.Function):
    """``(clamp(round(x / s) + z, qmin, qmax) - z) * s``; gradient 1 where ``round(x / s) + z`` is in range."""

    @staticmethod
    def forward(ctx, x, scale, zero_point, qmin, qmax):
        q = torch.round(x * (1.0 / scale)).add_(zero_point)
        inside = (q >= qmin) & (q <= qmax)
        ctx.save_for_backward(inside)
        return q.clamp_(qmin, qmax).sub_(zero_point).mul_(scale)

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside, None, None, None, None


def vectorized_fake_quantize(x: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor, qmin: int,
                             qmax: int) -> torch.Tensor:
    """Drop-in for per-tensor ``methods.quantization.quantizers.fake_quantize`` (scale of one element)."""
    return VectorizedFakeQuantize.apply(x, scale.reshape(()).float(), zero_point.round().reshape(()).float(),
                                        qmin, qmax)


def _quant_input(self, x: torch.Tensor) -> torch.Tensor:
    if self.a_lsq is not None:
        return self.a_lsq(x)
    return vectorized_fake_quantize(x, self.a_scale, self.a_zero, *self.a_range)


def vectorized_activation_quantizers(model: nn.Module) -> nn.Module:
    """Route every ``QuantLayer``'s per-tensor input quantizer through :func:`vectorized_fake_quantize` (in place)."""
    from methods.quantization.qmodules import QuantLayer

    for module in model.modules():
        if isinstance(module, QuantLayer):
            module.quant_input = types.MethodType(_quant_input, module)
    return model


def max_difference(reference: nn.Module, candidate: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> dict:
    """Largest absolute differences of the outputs and of the parameters' gradients of two models on ``x``."""
    import torch.nn.functional as F

    out = {}
    results = []
    for model in (reference, candidate):
        model.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits, y) if y is not None else logits.square().mean()
        loss.backward()
        results.append((logits.detach(), [p.grad.detach().clone() for p in model.parameters() if p.grad is not None]))
        model.zero_grad(set_to_none=True)
    (a, ga), (b, gb) = results
    out["output"] = float((a - b).abs().max())
    out["gradients"] = max(float((g - h).abs().max()) for g, h in zip(ga, gb))
    return out
