"""The MetaOptNet-SVM quadratic program, solved to its optimum and differentiated through its KKT system.

Lee et al. 2019 (MetaOptNet), Eq. 5-7, as ``MetaOptNetHead_SVM_CS`` in RenkunNi/MetaAug @ 79d1a6a
(``models/classification_heads.py``, the same as kjunelee/MetaOptNet's): the Crammer-Singer dual

    min_z 1/2 z^T (K (x) I_w + I) z - <Y, z>   s.t.  z_n <= C y_n,  sum_m z_nm = 0  (every support n)

with the ``+ I`` the official code adds to the block kernel. With beta_n = C y_n - z_n each support's
constraints become the C-simplex {beta_n >= 0, sum beta_n = C}, i.e. the standard form

    min_x 1/2 x^T Q x + p^T x  s.t.  A x = b, x >= 0,   Q = (K + I) (x) I_w,  p = Y - Q t,  t = vec(C Y).

The official head runs ``qpth`` (a primal-dual interior-point method, differentiated through the KKT
conditions at its solution, Amos & Kolter 2017). Here:

1. :func:`interior_point` solves the QP in float64 without gradients (primal-dual path following,
   Nocedal & Wright, Numerical Optimization, Alg. 16.4 without the corrector) until the duality
   measure x^T s / N and the residuals are below ``tolerance``;
2. :func:`kkt_solution` re-solves the equality-constrained QP on the solution's free set F
   (``x_F > 0``, ``x_A = 0``) as one linear KKT system in the caller's dtype with autograd: its value
   is the optimum and its gradient is the implicit derivative of the optimum (qpth's, for a strictly
   complementary solution).
"""

from __future__ import annotations

import torch


def standard_form(kernel: torch.Tensor, onehot: torch.Tensor, c: float):
    """(Q, p, A, b) of the dual in beta = vec(C Y - z), row-major over (support, class)."""
    n, w = onehot.shape
    eye_w = torch.eye(w, dtype=kernel.dtype, device=kernel.device)
    q = torch.kron(kernel + torch.eye(n, dtype=kernel.dtype, device=kernel.device), eye_w)
    target = (c * onehot).reshape(-1).to(kernel.dtype)
    p = onehot.reshape(-1).to(kernel.dtype) - q @ target
    a = torch.kron(torch.eye(n, dtype=kernel.dtype, device=kernel.device), torch.ones(1, w, dtype=kernel.dtype,
                                                                                         device=kernel.device))
    return q, p, a, torch.full((n,), c, dtype=kernel.dtype, device=kernel.device)


@torch.no_grad()
def interior_point(q, p, a, b, tolerance: float = 1e-10, max_steps: int = 100, sigma: float = 0.1):
    """x* of min 1/2 x^T Q x + p^T x s.t. Ax = b, x >= 0 (Q positive definite), the multipliers s* of
    x >= 0, and the steps taken."""
    q, p, a, b = (v.double() for v in (q, p, a, b))
    size, rows = len(p), len(b)
    x = (a.t() @ (b / a.sum(1)))  # the centre of every simplex: strictly feasible
    s, y = torch.ones_like(x), torch.zeros(rows, dtype=x.dtype, device=x.device)
    steps = 0
    for steps in range(1, max_steps + 1):
        dual = q @ x + p - a.t() @ y - s
        primal = a @ x - b
        mu = float(x @ s) / size
        if mu < tolerance and float(dual.abs().max()) < tolerance and float(primal.abs().max()) < tolerance:
            steps -= 1
            break
        system = torch.zeros(size + rows, size + rows, dtype=x.dtype, device=x.device)
        system[:size, :size] = q + torch.diag(s / x)
        system[:size, size:] = -a.t()
        system[size:, :size] = a
        rhs = torch.cat([-dual + sigma * mu / x - s, -primal])
        delta = torch.linalg.solve(system, rhs)
        dx, dy = delta[:size], delta[size:]
        ds = sigma * mu / x - s - (s / x) * dx
        step = min(1.0, _to_boundary(x, dx), _to_boundary(s, ds))
        x, y, s = x + step * dx, y + step * dy, s + step * ds
    return x, s, steps


def _to_boundary(v: torch.Tensor, dv: torch.Tensor, keep: float = 0.995) -> float:
    falling = dv < 0
    return float(keep * (-v[falling] / dv[falling]).min()) if bool(falling.any()) else 1.0


def kkt_solution(q, p, a, b, free: torch.Tensor) -> torch.Tensor:
    """The optimum rebuilt, differentiably in (q, p), from the linear KKT system of its free set
    (``free = x* > s*``: at a strictly complementary solution exactly one of the two is 0)."""
    qf, af = q[free][:, free], a[:, free]
    k, rows = int(free.sum()), len(b)
    system = torch.cat([torch.cat([qf, -af.t()], 1),
                        torch.cat([af, torch.zeros(rows, rows, dtype=q.dtype, device=q.device)], 1)])
    solved = torch.linalg.solve(system, torch.cat([-p[free], b]))
    x = torch.zeros_like(p)
    return x.masked_scatter(free, solved[:k])


def kkt_residual(q, p, a, b, x: torch.Tensor, free: torch.Tensor) -> float:
    """Largest violation of the KKT conditions at x with free set ``free`` (multipliers fitted by least
    squares on it).

    Stationarity Qx + p - A^T y - s = 0 with s >= 0 and s_i x_i = 0, primal feasibility Ax = b, x >= 0;
    :func:`wolfe_gap` bounds the suboptimality itself.
    """
    gradient = q @ x + p
    y = torch.linalg.lstsq(a[:, free].t(), gradient[free, None]).solution[:, 0]
    s = gradient - a.t() @ y
    return max(float(s[free].abs().max()) if bool(free.any()) else 0.0, float((-s[~free]).clamp_min(0).max())
               if bool((~free).any()) else 0.0, float((a @ x - b).abs().max()), float((-x).clamp_min(0).max()),
               float(x[~free].abs().max()) if bool((~free).any()) else 0.0)


def wolfe_gap(q, p, a, x: torch.Tensor, width: int) -> float:
    """Frank-Wolfe duality gap at a feasible x: <g, x> - sum_n C_n min_m g_nm >= f(x) - f*, 0 at x*."""
    gradient = (q @ x + p).reshape(-1, width)
    radius = (a @ x).reshape(-1)
    return float((gradient.reshape(-1) @ x) - (radius * gradient.min(1).values).sum())
