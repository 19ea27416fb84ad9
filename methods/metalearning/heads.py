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


class FewShotHead(nn.Module):
    """Maps one episode's (support, support_y, query) to query logits; :meth:`forward_many` maps a list
    of such episodes to their logits (the SVM solves their QPs as one batch)."""

    def forward_many(self, episodes: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]) -> list[torch.Tensor]:
        return [self(*episode) for episode in episodes]


class ProtoNetHead(FewShotHead):
    def __init__(self, scale: float = 1.0, scaled: bool = True):
        super().__init__()
        self.scaled = scaled
        if scaled:
            self.scale = nn.Parameter(torch.tensor(float(scale)))

    def forward(self, support: torch.Tensor, support_y: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        prototypes = (support_y.t() @ support) / support_y.sum(0).clamp_min(1e-8)[:, None]
        distances = torch.cdist(query, prototypes).pow(2)
        return -self.scale * distances / support.shape[1] if self.scaled else -distances


class R2D2Head(FewShotHead):
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


class SVMHead(FewShotHead):
    """MetaOptNet-SVM: the Crammer-Singer dual solved to its optimum (:mod:`.svm_qp`); ``last_steps``
    holds the most interior-point steps a QP of the last call took."""

    def __init__(self, c: float = 0.1, tolerance: float = 1e-10, scale: float = 1.0):
        super().__init__()
        self.c, self.tolerance = c, tolerance
        self.scale = nn.Parameter(torch.tensor(float(scale)))
        self.last_steps = 0

    def duals(self, kernels: list[torch.Tensor], onehots: list[torch.Tensor]) -> list[torch.Tensor]:
        """alpha (n_support x n_way), the optimal dual variables z of the official QP, per episode; the
        QPs of episodes of one shape go through the interior-point method together."""
        forms = [standard_form(kernel.double(), onehot.double(), self.c) for kernel, onehot in zip(kernels, onehots)]
        by_shape: dict[tuple[int, int], list[int]] = {}
        for index, onehot in enumerate(onehots):
            by_shape.setdefault(tuple(onehot.shape), []).append(index)
        free, steps = [None] * len(forms), []
        for (n, w), members in by_shape.items():
            gram = torch.stack([kernels[i].detach().double() for i in members]) + torch.eye(n, dtype=torch.float64,
                                                                                              device=kernels[0].device)
            linear = torch.stack([forms[i][1].detach().reshape(n, w) for i in members])
            x, s, taken = interior_point(gram, linear, self.c, self.tolerance)
            for i, x_i, s_i in zip(members, x, s):
                free[i] = (x_i > s_i).reshape(-1)
            steps.append(taken)
        self.last_steps = int(torch.cat(steps).max())
        return [self.c * onehot - kkt_solution(*form, free_set).reshape(onehot.shape).to(kernel.dtype)
                for kernel, onehot, form, free_set in zip(kernels, onehots, forms, free)]

    def forward_many(self, episodes: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]) -> list[torch.Tensor]:
        onehots = [F.one_hot(support_y.argmax(1), support_y.shape[1]).to(support.dtype)
                   for support, support_y, _ in episodes]
        cross = [self.scale * (query @ support.t()) for support, _, query in episodes]
        alphas = self.duals([support @ support.t() for support, _, _ in episodes], onehots)
        return [scaled @ alpha for scaled, alpha in zip(cross, alphas)]

    def forward(self, support: torch.Tensor, support_y: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        return self.forward_many([(support, support_y, query)])[0]


def build_head(name: str, params: dict) -> FewShotHead:
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
