import numpy as np
import pytest
import torch

from methods.core.errors import ConfigError
from methods.metalearning.heads import ProtoNetHead, R2D2Head, SVMHead, build_head
from methods.metalearning.svm_qp import interior_point, kkt_residual, kkt_solution, standard_form, wolfe_gap


def _task(seed=0, ways=4, shots=5, dim=16, spread=3.0):
    g = torch.Generator().manual_seed(seed)
    centres = spread * torch.randn(ways, dim, generator=g)
    labels = torch.arange(ways).repeat_interleave(shots)
    support = centres[labels] + torch.randn(len(labels), dim, generator=g)
    query_labels = torch.arange(ways).repeat_interleave(6)
    query = centres[query_labels] + torch.randn(len(query_labels), dim, generator=g)
    return support, torch.eye(ways)[labels], query, query_labels


def test_protonet_logits_are_scaled_negative_squared_distances_to_class_means():
    support, y, query, _ = _task()
    logits = ProtoNetHead()(support, y, query)
    prototypes = torch.stack([support[y[:, k] == 1].mean(0) for k in range(4)])
    expected = -((query[:, None] - prototypes[None]) ** 2).sum(-1) / support.shape[1]
    assert torch.allclose(logits, expected, atol=1e-4)


def test_plain_protonet_head_is_snells_negative_squared_distance_without_parameters():
    # Snell et al. 2017, Eq. 2: one 2-d query, prototypes (0, 0) and (2, 0) from two shots each
    support = torch.tensor([[0.0, 1.0], [0.0, -1.0], [2.0, 1.0], [2.0, -1.0]])
    y = torch.eye(2)[torch.tensor([0, 0, 1, 1])]
    head = build_head("protonet", {"protonet_form": "plain"})
    assert list(head.parameters()) == []
    # distances^2 to (0, 0) and (2, 0) of the query (1, 2): 1 + 4 = 5 and 1 + 4 = 5; of (3, 0): 9 and 1
    logits = head(support, y, torch.tensor([[1.0, 2.0], [3.0, 0.0]]))
    assert torch.allclose(logits, torch.tensor([[-5.0, -5.0], [-9.0, -1.0]]))
    with pytest.raises(ConfigError) as error:
        build_head("protonet", {"protonet_form": "cosine"})
    assert error.value.key == "protonet_form"


def test_r2d2_woodbury_solution_equals_the_primal_ridge_solution():
    support, y, query, _ = _task(dim=40)
    head = R2D2Head(lam=50.0)
    primal = torch.linalg.solve(support.t() @ support + 50.0 * torch.eye(40), support.t() @ y)
    assert torch.allclose(head(support, y, query), query @ primal, atol=1e-4)


def _reference_optimum(q, p, a, b):
    """The same QP solved by an independent method (SciPy's SLSQP, to machine precision)."""
    from scipy.optimize import minimize

    Q, P, A, B = (v.double().numpy() for v in (q, p, a, b))
    start = np.asarray(A.T @ (B / A.sum(1)))
    result = minimize(lambda z: 0.5 * z @ Q @ z + P @ z, start, jac=lambda z: Q @ z + P, method="SLSQP",
                      bounds=[(0, None)] * len(P), constraints=[{"type": "eq", "fun": lambda z: A @ z - B,
                                                                 "jac": lambda z: A}],
                      options={"ftol": 1e-15, "maxiter": 1000})
    return torch.from_numpy(result.x)


def test_qp_standard_form_is_the_official_objective():
    # 1 support of class 0 of 2, kernel 1, C = 0.1: official z = (z0, z1), z0 = -z1 <= 0.1, objective
    # 1/2 (1 + 1) (z0^2 + z1^2) - z0 = 2 z0^2 - z0 at z1 = -z0, unconstrained minimum z0 = 0.25, so the
    # box binds: z = (0.1, -0.1)
    q, p, a, b = standard_form(torch.tensor([[1.0]], dtype=torch.float64), torch.tensor([[1.0, 0.0]]), 0.1)
    x, s, _ = interior_point(q, p, a, b)
    assert torch.allclose(0.1 * torch.tensor([1.0, 0.0], dtype=torch.float64) - x, torch.tensor(
        [0.1, -0.1], dtype=torch.float64), atol=1e-8)  # alpha = C y - beta: z0 = 0.1, z1 = -0.1


@pytest.mark.parametrize("ways,shots,seed", [(3, 2, 0), (5, 1, 1), (4, 3, 2)])
def test_svm_qp_reaches_the_exact_optimum(ways, shots, seed):
    support, y, _, _ = _task(seed=seed, ways=ways, shots=shots, dim=32)
    q, p, a, b = standard_form(support.double() @ support.double().t(), y.double(), 0.1)
    x, s, steps = interior_point(q, p, a, b)
    free = x > s
    rebuilt = kkt_solution(q, p, a, b, free)
    assert steps <= 30  # 10-14 steps on these episodes
    assert wolfe_gap(q, p, a, rebuilt, ways) < 1e-8 and kkt_residual(q, p, a, b, rebuilt, free) < 1e-8
    reference = _reference_optimum(q, p, a, b)
    assert (rebuilt - reference).abs().max() < 1e-6 and wolfe_gap(q, p, a, reference, ways) < 1e-4


def test_svm_head_gradient_is_the_implicit_derivative_of_the_optimum():
    support, y, query, query_labels = _task(seed=3, dim=8)
    support = support.double().requires_grad_(True)
    head = SVMHead(c=0.1).double().eval()
    loss = torch.nn.functional.cross_entropy(head(support, y.double(), query.double()), query_labels)
    (grad,) = torch.autograd.grad(loss, support)
    direction = torch.randn_like(support)
    eps = 1e-6
    with torch.no_grad():
        plus = torch.nn.functional.cross_entropy(head(support + eps * direction, y.double(), query.double()),
                                                 query_labels)
        minus = torch.nn.functional.cross_entropy(head(support - eps * direction, y.double(), query.double()),
                                                  query_labels)
    assert float((grad * direction).sum()) == pytest.approx(float(plus - minus) / (2 * eps), rel=1e-4, abs=1e-8)
    assert (head(support, y.double(), query.double()).argmax(1) == query_labels).double().mean() > 0.9


@pytest.mark.parametrize("name", ["protonet", "r2d2", "svm"])
def test_heads_pass_gradients_to_the_embeddings(name):
    support, y, query, query_labels = _task()
    support.requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(build_head(name, {})(support, y, query), query_labels)
    loss.backward()
    assert support.grad is not None and support.grad.abs().sum() > 0


def test_unknown_head_names_the_choices():
    with pytest.raises(ConfigError) as error:
        build_head("maml", {})
    assert error.value.key == "head" and "svm" in error.value.allowed
