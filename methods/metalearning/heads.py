"""Differentiable few-shot heads: logits of the queries from the support embeddings.

Support labels are rows over the ``n_way`` classes (one-hot, or soft after support mixing).

* ProtoNet (Snell et al. 2017, Eq. 1-2): prototypes are the (label-weighted) means of the support
  embeddings. Two forms: ``scaled`` (the Meta-MaxUp learners, MetaOptNet's
  ``classification_heads.py`` + wrapper): logits = -scale * ||q - p_k||^2 / d with a learnable scale;
  plain (Snell et al., Eq. 2 with the squared Euclidean distance of Sec. 2.3, as
  ``protonets/models/few_shot.py`` in jakesnell/prototypical-networks @ c9bb4d2): logits =
  -||q - p_k||^2, no parameter.
* R2-D2 (Bertinetto et al. 2019, Sec. 3.1-3.2): ridge regression from embeddings to label rows,
  W = X^T (X X^T + lambda I)^-1 Y by the Woodbury identity (an n_support x n_support solve),
  lambda = 50; logits = alpha * Q W + beta with learnable alpha and beta.
* MetaOptNet-SVM (Lee et al. 2019, Eq. 5-7): the Crammer-Singer multi-class SVM dual with a linear
  kernel and C = 0.1. Instead of the QP solver ``qpth``, the dual is solved with a fixed number of
  FISTA steps (accelerated projected gradient, step 1/lambda_max(K)) after the substitution
  beta_n = C e_{y_n} - alpha_n, which turns each sample's constraints into the scaled simplex
  {beta >= 0, sum beta = C}; projection by sorting (Duchi et al. 2008). Every step is differentiable,
  so gradients flow through the unrolled solver to the embedding. Logits = scale * K_qs alpha.
  Soft support rows are reduced to their argmax class (the SVM needs hard labels).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from methods.core.errors import ConfigError


class ProtoNetHead(nn.Module):
    def __init__(self, scale: float = 1.0, scaled: bool = True):
        super().__init__()
        self.scaled = scaled
        if scaled:
            self.scale = nn.Parameter(torch.tensor(float(scale)))

    def forward(self, support: torch.Tensor, support_y: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        prototypes = (support_y.t() @ support) / support_y.sum(0).clamp_min(1e-8)[:, None]
        distances = torch.cdist(query, prototypes).pow(2)
        return -self.scale * distances / support.shape[1] if self.scaled else -distances


class R2D2Head(nn.Module):
    def __init__(self, lam: float = 50.0, scale: float = 1.0):
        super().__init__()
        self.lam = lam
        self.scale = nn.Parameter(torch.tensor(float(scale)))
        self.bias = nn.Parameter(torch.tensor(0.0))

    def forward(self, support: torch.Tensor, support_y: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        gram = support @ support.t()
        eye = torch.eye(len(support), dtype=support.dtype, device=support.device)
        weights = support.t() @ torch.linalg.solve(gram + self.lam * eye, support_y)
        return self.scale * (query @ weights) + self.bias


def project_simplex(v: torch.Tensor, radius: float) -> torch.Tensor:
    """Euclidean projection of each row of ``v`` onto {x >= 0, sum x = radius} (Duchi et al. 2008)."""
    u, _ = torch.sort(v, dim=1, descending=True)
    cumulative = u.cumsum(1) - radius
    index = torch.arange(1, v.shape[1] + 1, device=v.device, dtype=v.dtype)
    active = (u - cumulative / index) > 0
    rho = active.sum(1, keepdim=True) - 1  # the active entries form a prefix of the sorted row
    theta = cumulative.gather(1, rho) / (rho + 1).to(v.dtype)
    return (v - theta).clamp_min(0)


class SVMHead(nn.Module):
    def __init__(self, c: float = 0.1, iterations: int = 15, test_iterations: int = 15, scale: float = 1.0):
        super().__init__()
        self.c, self.iterations, self.test_iterations = c, iterations, test_iterations
        self.scale = nn.Parameter(torch.tensor(float(scale)))

    def dual(self, kernel: torch.Tensor, onehot: torch.Tensor, steps: int) -> torch.Tensor:
        """alpha (n_support x n_way) of the Crammer-Singer dual after ``steps`` FISTA steps."""
        target = self.c * onehot
        step = 1.0 / torch.linalg.eigvalsh(kernel.detach())[-1].clamp_min(1e-6)
        beta = target.clone()
        previous, momentum_point, t = beta, beta, 1.0
        for _ in range(steps):
            gradient = -kernel @ (target - momentum_point) + onehot
            beta = project_simplex(momentum_point - step * gradient, self.c)
            t_next = (1 + (1 + 4 * t * t) ** 0.5) / 2
            momentum_point = beta + ((t - 1) / t_next) * (beta - previous)
            previous, t = beta, t_next
        return target - beta

    def forward(self, support: torch.Tensor, support_y: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        onehot = F.one_hot(support_y.argmax(1), support_y.shape[1]).to(support.dtype)
        alpha = self.dual(support @ support.t(), onehot, self.iterations if self.training else self.test_iterations)
        return self.scale * (query @ support.t()) @ alpha


def build_head(name: str, params: dict) -> nn.Module:
    if name == "protonet":
        form = params.get("protonet_form", "scaled")
        if form not in ("scaled", "plain"):
            raise ConfigError("protonet_form", form, "'scaled' (MetaOptNet wrapper) or 'plain' (Snell et al.)")
        return ProtoNetHead(scaled=form == "scaled")
    if name == "r2d2":
        return R2D2Head(lam=float(params.get("ridge_lambda", 50.0)))
    if name == "svm":
        return SVMHead(c=float(params.get("svm_c", 0.1)), iterations=int(params.get("svm_iterations", 15)),
                       test_iterations=int(params.get("svm_test_iterations", 15)))
    raise ConfigError("head", name, "one of ['protonet', 'r2d2', 'svm']")
