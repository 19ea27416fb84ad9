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
  kernel, C = 0.1 and the ``+ I`` the official head adds to its block kernel, solved to the QP's
  optimum by an interior-point method and differentiated through the KKT system of the optimum's
  free set, as the official ``qpth`` solve is (:mod:`.svm_qp`). Logits = scale * K_qs alpha.
  Soft support rows are reduced to their argmax class (the SVM needs hard labels).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from methods.core.errors import ConfigError

from .svm_qp import interior_point, kkt_solution, standard_form


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


class SVMHead(nn.Module):
    """MetaOptNet-SVM: the Crammer-Singer dual solved to its optimum (:mod:`.svm_qp`); ``last_steps``
    holds the interior-point steps the last solve took."""

    def __init__(self, c: float = 0.1, tolerance: float = 1e-10, scale: float = 1.0):
        super().__init__()
        self.c, self.tolerance = c, tolerance
        self.scale = nn.Parameter(torch.tensor(float(scale)))
        self.last_steps = 0

    def dual(self, kernel: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        """alpha (n_support x n_way), the optimal dual variables z of the official QP."""
        q, p, a, b = standard_form(kernel.double(), onehot.double(), self.c)
        x, s, self.last_steps = interior_point(q.detach(), p.detach(), a, b, self.tolerance)
        beta = kkt_solution(q, p, a, b, x > s).reshape(onehot.shape).to(kernel.dtype)
        return self.c * onehot - beta

    def forward(self, support: torch.Tensor, support_y: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        onehot = F.one_hot(support_y.argmax(1), support_y.shape[1]).to(support.dtype)
        return self.scale * (query @ support.t()) @ self.dual(support @ support.t(), onehot)


def build_head(name: str, params: dict) -> nn.Module:
    if name == "protonet":
        form = params.get("protonet_form", "scaled")
        if form not in ("scaled", "plain"):
            raise ConfigError("protonet_form", form, "'scaled' (MetaOptNet wrapper) or 'plain' (Snell et al.)")
        return ProtoNetHead(scaled=form == "scaled")
    if name == "r2d2":
        return R2D2Head(lam=float(params.get("ridge_lambda", 50.0)))
    if name == "svm":
        return SVMHead(c=float(params.get("svm_c", 0.1)), tolerance=float(params.get("svm_tolerance", 1e-10)))
    raise ConfigError("head", name, "one of ['protonet', 'r2d2', 'svm']")
