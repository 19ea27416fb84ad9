"""Training-free (zero-cost) proxies of an NB201 cell, each with its CPU seconds.

The proxies the NASGraph paper compares with (arXiv 2405.01306, Table 2), as Abdelfattah et al.,
"Zero-Cost Proxies for Lightweight NAS", ICLR 2021 define them for NAS-Bench-201 (their code:
mohsaied/zero-cost-nas; read for the definitions, written anew here). Scored on NB201's own
network (C=16, N=5, BatchNorm in training mode, PyTorch's default initialisation, seeded):

* ``params``: number of parameters; ``flops``: NB201's FLOP count (:func:`nb201.nb201_flops`).
* ``synflow`` (Tanaka et al. 2020, Eq. 3 / Abdelfattah Sec. 3): data-free; BatchNorm removed,
  float64, every weight replaced by its absolute value, an all-ones input; R = sum of the output,
  score = sum over conv/linear weights of |theta * dR/dtheta|.
* ``grad_norm`` (Abdelfattah Sec. 3): sum over conv/linear weights of the L2 norm of the gradient
  of the cross-entropy loss on one batch.
* ``snip`` (Lee et al. 2019, Eq. 6 as used by Abdelfattah): sum of |theta * dL/dtheta|.
* ``jacov`` (Mellor et al. 2020, arXiv 2006.04647v1, Sec. 3): the Jacobians dy/dx of the batch's
  inputs (y summed over classes), their correlation matrix's eigenvalues v, score
  -sum(log(v + k) + 1/(v + k)), k = 1e-5; NaN where a Jacobian is constant (no path from input
  to output) or the score is not finite, as the reference code's failed evaluations are; rankings
  put NaN last.
* ``naswot`` (Mellor et al., ICML 2021, Eq. 2): binary ReLU activation codes c of the batch,
  K = c c^T + (1 - c)(1 - c)^T summed over ReLUs, score log|K|.

The data-dependent ones (grad_norm, snip, jacov, naswot) take a batch of images; which images is
the caller's choice and is stated in the tables (:mod:`.inputs`).
"""

from __future__ import annotations

import time

import numpy as np

from .nb201 import Cell, build_network, nb201_flops

PROXIES = ("params", "flops", "synflow", "grad_norm", "snip", "jacov", "naswot")
DATA_FREE = ("params", "flops", "synflow")
GRADIENT_PROXIES = ("grad_norm", "snip")  # both from one loss backward (:func:`_loss_grads`)


def _weights(net):
    from torch import nn

    return [m.weight for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def synflow(cell: Cell, seed: int) -> float:
    import torch

    torch.manual_seed(seed)
    net = build_network(cell, bn=False).double()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    net.zero_grad()
    net(torch.ones(1, 3, 32, 32, dtype=torch.float64)).sum().backward()
    return float(sum((w.detach() * w.grad).abs().sum() for w in _weights(net)))


def _loss_grads(cell: Cell, seed: int, x, y):
    import torch

    torch.manual_seed(seed)
    net = build_network(cell).train()
    net.zero_grad()
    torch.nn.functional.cross_entropy(net(x), y).backward()
    return _weights(net)


def grad_norm(weights) -> float:
    """From the weights of :func:`_loss_grads` (their gradients filled)."""
    return float(sum(w.grad.norm() for w in weights))


def snip(weights) -> float:
    """From the weights of :func:`_loss_grads` (their gradients filled)."""
    return float(sum((w.detach() * w.grad).abs().sum() for w in weights))


def jacov(cell: Cell, seed: int, x) -> float:
    import torch

    torch.manual_seed(seed)
    net = build_network(cell).train()
    x = x.clone().requires_grad_(True)
    net(x).backward(torch.ones(len(x), net.classifier.out_features))
    jacobians = x.grad.reshape(len(x), -1).double().numpy()
    if np.any(jacobians.std(axis=1) == 0):  # no path from input to output: the correlation is undefined
        return float("nan")
    v = np.linalg.eigvalsh(np.corrcoef(jacobians))
    k = 1e-5
    with np.errstate(all="ignore"):
        score = float(-np.sum(np.log(v + k) + 1.0 / (v + k)))
    return score if np.isfinite(score) else float("nan")


def naswot(cell: Cell, seed: int, x) -> float:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    net = build_network(cell).train()
    kernel = torch.zeros(len(x), len(x), dtype=torch.float64)

    def hook(module, inputs, output):
        codes = (inputs[0].detach().reshape(len(x), -1) > 0).float()
        # c c^T + (1 - c)(1 - c)^T = D - Hamming distance, with D the code length (exact in float32 counts)
        kernel.add_((codes @ codes.T + (1 - codes) @ (1 - codes).T).double())

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            net(x)
    finally:
        for h in handles:
            h.remove()
    score = float(torch.linalg.slogdet(kernel)[1])
    return score if np.isfinite(score) else float("nan")


def score_all(cell: Cell, seed: int, x, y, which=PROXIES) -> tuple[dict[str, float], dict[str, float]]:
    """The proxies ``which`` of ``cell`` and the CPU seconds (process time) each would take alone.

    grad_norm and snip read the same gradients (one loss backward of the same seeded network on the
    same batch), computed once; each proxy is charged its full time, as if it ran alone."""
    from methods.core.measure import count_parameters

    backward_s, weights = 0.0, None
    if any(name in GRADIENT_PROXIES for name in which):
        start = time.process_time()
        weights = _loss_grads(cell, seed, x, y)
        backward_s = time.process_time() - start
    calls = {
        "params": lambda: float(count_parameters(build_network(cell))),
        "flops": lambda: float(nb201_flops(build_network(cell))),
        "synflow": lambda: synflow(cell, seed),
        "grad_norm": lambda: grad_norm(weights),
        "snip": lambda: snip(weights),
        "jacov": lambda: jacov(cell, seed, x),
        "naswot": lambda: naswot(cell, seed, x),
    }
    values, seconds = {}, {}
    for name in which:
        call = calls[name]
        start = time.process_time()
        values[name] = call()
        seconds[name] = time.process_time() - start + (backward_s if name in GRADIENT_PROXIES else 0.0)
    return values, seconds
