"""ShrinkBench's unstructured pruning baselines and its size and FLOP accounting.

Blalock, Gonzalez Ortiz, Frankle & Guttag, "What is the State of Neural Network Pruning?",
MLSys 2020 (``JJGO/shrinkbench``). The conventions copied here:

* prunable modules are the ``Linear`` and ``Conv2d`` layers except the classifier (the last
  ``Linear``); their weights *and* biases are masked (``strategies/magnitude.py``);
* ``fraction_to_keep`` (``pruning/utils.py``) solves for the fraction of *prunable* parameters to
  keep so that the *whole model* (classifier and normalization layers included, both dense) has
  ``size / size_nz == compression``;
* masks are computed once, from one batch, and stay fixed while fine-tuning;
* ``theoretical_speedup = flops / flops_nz`` counts the multiply-accumulates of ``Conv2d`` and
  ``Linear`` layers, with only non-zero weights counted in ``flops_nz``.

The seven strategies (``strategies/*.py``): ``GlobalMagWeight``/``LayerMagWeight`` score |w|;
``GlobalMagGrad``/``LayerMagGrad`` score |w * dL/dw| (cross-entropy on the pruning batch);
``GlobalMagAct``/``LayerMagAct`` score |w| times the layer input's batch-mean magnitude
(``strategies/magnitude_act.py``: per input feature for ``Linear``, per input channel averaged over
space for ``Conv2d``, the mean of those for the bias); ``RandomPruning`` keeps each parameter of
every prunable layer with probability equal to the fraction to keep. Global strategies use one
threshold over all prunable parameters, layer strategies keep the same fraction in every tensor.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import prune

from methods.core.errors import ConfigError
from methods.models.layout import in_layout_of

STRATEGIES = ("GlobalMagWeight", "LayerMagWeight", "GlobalMagGrad", "LayerMagGrad",
              "GlobalMagAct", "LayerMagAct", "RandomPruning")
Masks = dict[str, dict[str, torch.Tensor]]  # module name -> {"weight": mask, "bias": mask}


def prunable_modules(model: nn.Module, exclude: tuple[str, ...] = ()) -> dict[str, nn.Module]:
    """The ``Linear``/``Conv2d`` layers of ``model`` except the classifier (its last ``Linear``) and
    the layers named in ``exclude`` (each must exist)."""
    names = dict(model.named_modules())
    unknown = [name for name in exclude if name not in names]
    if unknown:
        raise ConfigError("exclude", unknown[0], f"a layer name of {type(model).__name__}: {sorted(n for n in names if n)}")
    layers = {name: m for name, m in names.items() if isinstance(m, (nn.Linear, nn.Conv2d))}
    linears = [name for name, m in layers.items() if isinstance(m, nn.Linear)]
    if linears:
        layers.pop(linears[-1])
    for name in exclude:
        layers.pop(name, None)
    if not layers:
        raise ConfigError("model", type(model).__name__, "a model with Linear or Conv2d layers besides the classifier")
    return layers


def _params(module: nn.Module) -> dict[str, torch.Tensor]:
    out = {"weight": module.weight.detach()}
    if module.bias is not None:
        out["bias"] = module.bias.detach()
    return out


def max_compression(model: nn.Module, exclude: tuple[str, ...] = ()) -> float:
    """The largest compression reachable with every prunable parameter removed (the rest dense)."""
    total = sum(p.numel() for p in model.parameters())
    prunable = sum(p.numel() for m in prunable_modules(model, exclude).values() for p in _params(m).values())
    return total / (total - prunable)


def fraction_to_keep(compression: float, model: nn.Module, prunable: dict[str, nn.Module]) -> float:
    """Fraction of the prunable parameters to keep so that all parameters / non-zero = ``compression``."""
    if not compression >= 1:
        raise ConfigError("compression", compression, "a ratio >= 1 (total / non-zero parameters)")
    total = sum(p.numel() for p in model.parameters())
    prunable_size = sum(p.numel() for m in prunable.values() for p in _params(m).values())
    fraction = (total / compression - (total - prunable_size)) / prunable_size
    if fraction <= 0:
        limit = total / (total - prunable_size)
        raise ConfigError("compression", compression,
                          f"at most {limit:.1f} for this model (its classifier and other unpruned "
                          "parameters stay dense)")
    return min(fraction, 1.0)


def _input_activations(model: nn.Module, modules: dict[str, nn.Module], x: torch.Tensor) -> dict[str, torch.Tensor]:
    captured: dict[str, torch.Tensor] = {}
    handles = [m.register_forward_hook(lambda mod, inp, out, name=name: captured.__setitem__(name, inp[0].detach()))
               for name, m in modules.items()]
    try:
        with torch.no_grad():
            model.eval()
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return captured


def _activation_scores(module: nn.Module, activation: torch.Tensor) -> dict[str, torch.Tensor]:
    mean = activation.mean(0)  # batch mean, as ShrinkBench's ``importance``
    if isinstance(module, nn.Conv2d):
        norms = mean.abs().flatten(1).sum(1) / (mean.shape[1] * mean.shape[2])
        weight_scale = norms[None, :, None, None]
    else:
        norms = mean.abs()
        weight_scale = norms[None, :]
    params = _params(module)
    scores = {"weight": params["weight"].abs() * weight_scale}
    if "bias" in params:
        scores["bias"] = params["bias"].abs() * norms.mean()
    return scores


def _gradient_scores(model: nn.Module, modules: dict[str, nn.Module], x: torch.Tensor, y: torch.Tensor):
    model.eval()
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    scores = {name: {k: (p * getattr(m, k).grad).abs() for k, p in _params(m).items()} for name, m in modules.items()}
    model.zero_grad(set_to_none=True)
    return scores


def importance_scores(strategy: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                      generator: torch.Generator, exclude: tuple[str, ...] = ()) -> dict[str, dict[str, torch.Tensor]]:
    """Per-parameter importance of every prunable tensor under ``strategy`` (higher = keep)."""
    modules = prunable_modules(model, exclude)
    kind = strategy.removeprefix("Global").removeprefix("Layer")
    if strategy == "RandomPruning":
        return {n: {k: torch.rand(p.shape, generator=generator) for k, p in _params(m).items()}
                for n, m in modules.items()}
    if kind == "MagWeight":
        return {n: {k: p.abs() for k, p in _params(m).items()} for n, m in modules.items()}
    if kind == "MagGrad":
        return _gradient_scores(model, modules, x, y)
    if kind == "MagAct":
        acts = _input_activations(model, modules, x)
        return {n: _activation_scores(m, acts[n]) for n, m in modules.items()}
    raise ConfigError("strategy", strategy, f"one of {list(STRATEGIES)}")


def _keep_top(score: torch.Tensor, threshold: float) -> torch.Tensor:
    return (score > threshold).float()


def _layer_threshold(score: torch.Tensor, fraction: float) -> float:
    drop = int(round((1 - fraction) * score.numel()))
    if drop == 0:
        return float("-inf")
    return float(score.flatten().kthvalue(drop).values)


def compute_masks(strategy: str, compression: float, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                  seed: int, exclude: tuple[str, ...] = ()) -> Masks:
    """The masks of ``strategy`` at ``compression`` from one batch ``(x, y)`` (computed once);
    the layers named in ``exclude`` stay dense, like the classifier."""
    if strategy not in STRATEGIES:
        raise ConfigError("strategy", strategy, f"one of {list(STRATEGIES)}")
    modules = prunable_modules(model, exclude)
    fraction = fraction_to_keep(compression, model, modules)
    generator = torch.Generator().manual_seed(seed)
    scores = importance_scores(strategy, model, x, y, generator, exclude)
    if fraction >= 1:
        return {n: {k: torch.ones_like(s) for k, s in d.items()} for n, d in scores.items()}
    if strategy.startswith("Global"):
        flat = torch.cat([s.flatten() for d in scores.values() for s in d.values()])
        threshold = _layer_threshold(flat, fraction)
        return {n: {k: _keep_top(s, threshold) for k, s in d.items()} for n, d in scores.items()}
    return {n: {k: _keep_top(s, _layer_threshold(s, fraction)) for k, s in d.items()} for n, d in scores.items()}


class _MaskInLayout(prune.CustomFromMask):
    """torch's fixed-mask re-parametrization, with ``orig * mask`` in ``orig``'s memory layout: the
    product of a channels_last stem weight and its mask otherwise gets default strides, and the stem
    convolution and its pooling fall back to NCHW (:mod:`methods.models.layout`)."""

    def apply_mask(self, module: nn.Module) -> torch.Tensor:
        return in_layout_of(getattr(module, self._tensor_name + "_orig"), super().apply_mask(module))


def apply_masks(model: nn.Module, masks: Masks) -> None:
    """Re-parametrize each masked tensor as ``orig * mask`` so that fine-tuning keeps zeros at zero."""
    modules = dict(model.named_modules())
    for name, tensors in masks.items():
        if name not in modules:
            raise ConfigError("masks", name, f"a layer name of {type(model).__name__}")
        for key, mask in tensors.items():
            _MaskInLayout.apply(modules[name], key, mask)


def make_permanent(model: nn.Module) -> None:
    """Fold the masks into the weights (``orig * mask``) and drop the re-parametrization."""
    for module in model.modules():
        for key in ("weight", "bias"):
            if hasattr(module, f"{key}_mask"):
                prune.remove(module, key)


def size_stats(model: nn.Module) -> dict[str, int]:
    """ShrinkBench's ``size`` (all parameters) and ``size_nz`` (non-zero parameters)."""
    tensors = [p.detach() for p in model.parameters()]
    return {"size": sum(t.numel() for t in tensors), "size_nz": sum(int(torch.count_nonzero(t)) for t in tensors)}


def flop_stats(model: nn.Module, example: torch.Tensor) -> dict[str, int]:
    """Dense and non-zero multiply-accumulates of the ``Conv2d``/``Linear`` layers for one example."""
    totals = {"flops": 0, "flops_nz": 0}

    def hook(module, inputs, output):
        weight = module.weight.detach()
        positions = output[0, 0].numel() if isinstance(module, nn.Conv2d) else 1
        per_weight = positions if isinstance(module, nn.Conv2d) else output[0].numel() // weight.shape[0]
        totals["flops"] += weight.numel() * per_weight
        totals["flops_nz"] += int(torch.count_nonzero(weight)) * per_weight

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    try:
        with torch.no_grad():
            model.eval()
            model(example[:1])
    finally:
        for handle in handles:
            handle.remove()
    return totals


def shrinkbench_metrics(model: nn.Module, example: torch.Tensor) -> dict[str, float]:
    """``size``, ``size_nz``, ``compression_ratio``, ``flops``, ``flops_nz``, ``theoretical_speedup``."""
    sizes, flops = size_stats(model), flop_stats(model, example)
    return {**sizes, **flops, "compression_ratio": sizes["size"] / max(sizes["size_nz"], 1),
            "theoretical_speedup": flops["flops"] / max(flops["flops_nz"], 1)}

