"""The MetaOptNet-SVM quadratic program, solved to its optimum and differentiated through its KKT system.

Lee et al. 2019 (MetaOptNet), Eq. 5-7, as ``MetaOptNetHead_SVM_CS`` in RenkunNi/MetaAug @ 79d1a6a
(``models/classification_heads.py``, the same as kjunelee/MetaOptNet's): the Crammer-Singer dual

    min_z 1/2 z^T (K (x) I_w + I) z - <Y, z>   s.t.  z_n <= C y_n,  sum_m z_nm = 0  (every support n)

with the ``+ I`` the official code adds to the block kernel. With beta_n = C y_n - z_n each support's
constraints become the C-simplex {beta_n >= 0, sum beta_n = C}, i.e. the standard form

    min_x 1/2 x^T Q x + p^T x  s.t.  A x = b, x >= 0,   Q = (K + I) (x) I_w,  p = Y - Q t,  t = vec(C Y).

The official head runs ``qpth`` (a primal-dual interior-point method, differentiated through the KKT
conditions at its solution, Amos & Kolter 2017). Here:

1. :func:`interior_point` solves a batch of these QPs in float64 without gradients (primal-dual path
   following, Nocedal & Wright, Numerical Optimization, Alg. 16.4 without the corrector, its Newton
   steps through the block structure of Q and A) until the duality measure x^T s / N and the
   residuals are below ``tolerance``;
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
def interior_point(gram: torch.Tensor, linear: torch.Tensor, c: float, tolerance: float = 1e-10,
                   max_steps: int = 100, sigma: float = 0.1):
    """x* of the standard form for a batch of B problems, the multipliers s* of x >= 0, and each
    problem's steps: ``gram`` (B, n, n) is K + I, ``linear`` (B, n, w) is p as an n x w matrix.

    Primal-dual path following (Nocedal & Wright, Alg. 16.4 without the corrector; Newton steps by
    :func:`newton_direction`). A problem stops moving once the duality measure x^T s / N and both
    residuals are below ``tolerance``; the others go on.
    """
    gram, linear = gram.double(), linear.double()
    batch, n, w = linear.shape
    x = torch.full_like(linear, c / w)  # the centre of every simplex: strictly feasible
    s, y = torch.ones_like(x), linear.new_zeros(batch, n)
    steps = torch.zeros(batch, dtype=torch.long, device=linear.device)
    for _ in range(max_steps):
        dual = gram @ x + linear - y[..., None] - s
        primal = x.sum(2) - c
        mu = (x * s).sum((1, 2)) / (n * w)
        moving = (mu >= tolerance) | (dual.abs().amax((1, 2)) >= tolerance) | (primal.abs().amax(1) >= tolerance)
        if not bool(moving.any()):
            break
        ratio = s / x
        dx, dy = newton_direction(gram, ratio, -dual + sigma * mu[:, None, None] / x - s, -primal)
        ds = sigma * mu[:, None, None] / x - s - ratio * dx
        step = torch.minimum(_to_boundary(x, dx), _to_boundary(s, ds)).clamp(max=1.0) * moving
        x, y, s = x + step[:, None, None] * dx, y + step[:, None] * dy, s + step[:, None, None] * ds
        steps += moving
    return x, s, steps


def newton_direction(gram: torch.Tensor, ratio: torch.Tensor, residual: torch.Tensor, primal: torch.Tensor):
    """(dx, dy) solving [[Q + diag(ratio), -A^T], [A, 0]] [dx; dy] = [residual; primal] per problem,
    through the structure instead of as one dense (nw + n)-square system.

    With x as an n x w matrix X, Q x is (K + I) X and A^T y adds y_n to row n, so for class m

        M_m dX_m - dy = R_m,   M_m = K + I + diag(ratio_m),   sum_m dX_m = primal:

    dX_m = M_m^-1 (R_m + dy), and dy solves the n x n Schur complement (sum_m M_m^-1) dy = primal -
    sum_m M_m^-1 R_m; w Cholesky-factored n x n blocks instead of an (nw + n)^3 factorization.
    Shapes: gram (B, n, n), ratio and residual (B, n, w), primal (B, n).
    """
    batch, n, w = ratio.shape
    eye = torch.eye(n, dtype=gram.dtype, device=gram.device).expand(batch, w, n, n)
    blocks = torch.linalg.cholesky(gram[:, None] + torch.diag_embed(ratio.transpose(1, 2)))
    solved = torch.cholesky_solve(torch.cat([residual.transpose(1, 2)[..., None], eye], 3), blocks)
    toward, inverse = solved[..., 0], solved[..., 1:]  # M_m^-1 R_m and M_m^-1, per class m
    dy = torch.linalg.solve(inverse.sum(1), primal - toward.sum(1))
    return (toward + (inverse @ dy[:, None, :, None])[..., 0]).transpose(1, 2), dy


def _to_boundary(v: torch.Tensor, dv: torch.Tensor, keep: float = 0.995) -> torch.Tensor:
    """Per problem, ``keep`` times the largest step along dv that keeps v > 0 (inf where nothing falls)."""
    return keep * torch.where(dv < 0, -v / dv, torch.inf).amin((1, 2))


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
