import numpy as np
import pytest
import torch

from methods.core.errors import ConfigError
from methods.metalearning.heads import ProtoNetHead, R2D2Head, SVMHead, build_head
from methods.metalearning.svm_qp import (interior_point, kkt_residual, kkt_solution, newton_direction, standard_form,
                                         wolfe_gap)


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


def _solve(kernel, onehot, c=0.1):
    """The standard form of one episode's QP and its interior-point solution as standard-form vectors."""
    q, p, a, b = standard_form(kernel, onehot, c)
    n, w = onehot.shape
    x, s, steps = interior_point((kernel + torch.eye(n, dtype=kernel.dtype))[None], p.reshape(1, n, w), c)
    return (q, p, a, b), x[0].reshape(-1), s[0].reshape(-1), int(steps[0])


def test_structured_newton_direction_solves_the_dense_kkt_system():
    g = torch.Generator().manual_seed(0)
    n, w = 4, 3
    features = torch.randn(2, n, 6, generator=g, dtype=torch.float64)
    gram = features @ features.transpose(1, 2) + torch.eye(n, dtype=torch.float64)
    ratio = torch.rand(2, n, w, generator=g, dtype=torch.float64) * torch.tensor([1e-6, 1.0, 1e6], dtype=torch.float64)
    residual, primal = torch.randn(2, n, w, generator=g, dtype=torch.float64), torch.randn(2, n, generator=g,
                                                                                           dtype=torch.float64)
    dx, dy = newton_direction(gram, ratio, residual, primal)
    for i in range(2):
        q = torch.kron(gram[i], torch.eye(w, dtype=torch.float64)) + torch.diag(ratio[i].reshape(-1))
        a = torch.kron(torch.eye(n, dtype=torch.float64), torch.ones(1, w, dtype=torch.float64))
        dense = torch.cat([torch.cat([q, -a.t()], 1), torch.cat([a, torch.zeros(n, n, dtype=torch.float64)], 1)])
        expected = torch.linalg.solve(dense, torch.cat([residual[i].reshape(-1), primal[i]]))
        assert torch.allclose(torch.cat([dx[i].reshape(-1), dy[i]]), expected, rtol=1e-9, atol=1e-12)


def test_qp_standard_form_is_the_official_objective():
    # 1 support of class 0 of 2, kernel 1, C = 0.1: official z = (z0, z1), z0 = -z1 <= 0.1, objective
    # 1/2 (1 + 1) (z0^2 + z1^2) - z0 = 2 z0^2 - z0 at z1 = -z0, unconstrained minimum z0 = 0.25, so the
    # box binds: z = (0.1, -0.1)
    _, x, s, _ = _solve(torch.tensor([[1.0]], dtype=torch.float64), torch.tensor([[1.0, 0.0]], dtype=torch.float64))
    assert torch.allclose(0.1 * torch.tensor([1.0, 0.0], dtype=torch.float64) - x, torch.tensor(
        [0.1, -0.1], dtype=torch.float64), atol=1e-8)  # alpha = C y - beta: z0 = 0.1, z1 = -0.1


@pytest.mark.parametrize("ways,shots,seed", [(3, 2, 0), (5, 1, 1), (4, 3, 2)])
def test_svm_qp_reaches_the_exact_optimum(ways, shots, seed):
    support, y, _, _ = _task(seed=seed, ways=ways, shots=shots, dim=32)
    (q, p, a, b), x, s, steps = _solve(support.double() @ support.double().t(), y.double())
    free = x > s
    rebuilt = kkt_solution(q, p, a, b, free)
    assert steps <= 30  # 10-14 steps on these episodes
    assert wolfe_gap(q, p, a, rebuilt, ways) < 1e-8 and kkt_residual(q, p, a, b, rebuilt, free) < 1e-8
    reference = _reference_optimum(q, p, a, b)
    assert (rebuilt - reference).abs().max() < 1e-6 and wolfe_gap(q, p, a, reference, ways) < 1e-4


def test_a_batch_of_qps_gives_each_problem_its_own_solution():
    # problems of one shape solved together: each stops when it has converged, as it would alone
    kernels, onehots = [], []
    for seed, spread in ((0, 0.3), (1, 3.0), (2, 1.0)):
        support, y, _, _ = _task(seed=seed, ways=5, shots=2, dim=12, spread=spread)
        kernels.append(support.double() @ support.double().t())
        onehots.append(y.double())
    alone = [_solve(k, o) for k, o in zip(kernels, onehots)]
    linear = torch.stack([form[1].reshape(10, 5) for form, *_ in alone])
    x, s, steps = interior_point(torch.stack(kernels) + torch.eye(10, dtype=torch.float64), linear, 0.1)
    assert steps.tolist() == [taken for *_, taken in alone] and len(set(steps.tolist())) > 1
    for i, (_, x_i, s_i, _) in enumerate(alone):
        assert torch.equal(x[i].reshape(-1) > s[i].reshape(-1), x_i > s_i)
        assert torch.allclose(x[i].reshape(-1), x_i, atol=1e-12)


def test_svm_head_on_many_episodes_equals_one_episode_at_a_time():
    episodes = []
    for seed, (ways, shots) in enumerate([(5, 1), (5, 5), (5, 1), (4, 3), (5, 5)]):
        support, y, query, _ = _task(seed=seed, ways=ways, shots=shots)
        episodes.append((support.requires_grad_(True), y, query))
    head = SVMHead(c=0.1)
    together = head.forward_many(episodes)
    assert head.last_steps > 0
    for (support, y, query), logits in zip(episodes, together):
        alone = head(support, y, query)
        assert torch.equal(logits, alone)
        assert torch.equal(*(torch.autograd.grad(out.square().sum(), support)[0] for out in (logits, alone)))


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
