import pytest
import torch

from methods.core.errors import ConfigError
from methods.metalearning.heads import ProtoNetHead, R2D2Head, SVMHead, build_head, project_simplex


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


def test_simplex_projection_lands_on_the_scaled_simplex_and_fixes_its_points():
    v = torch.randn(20, 5)
    p = project_simplex(v, 0.1)
    assert (p >= 0).all() and torch.allclose(p.sum(1), torch.full((20,), 0.1), atol=1e-6)
    assert torch.allclose(project_simplex(p, 0.1), p, atol=1e-6)


def _dual_objective(alpha, kernel, onehot):
    return -0.5 * torch.trace(alpha.t() @ kernel @ alpha) + (alpha * onehot).sum()


def test_svm_dual_is_feasible_improves_with_iterations_and_classifies():
    support, y, query, query_labels = _task(seed=3)
    kernel = support @ support.t()
    values = []
    for steps in (1, 5, 50, 400):
        alpha = SVMHead(c=0.1).dual(kernel, y, steps)
        beta = 0.1 * y - alpha
        assert (beta >= -1e-6).all() and torch.allclose(beta.sum(1), torch.full((len(y),), 0.1), atol=1e-5)
        values.append(_dual_objective(alpha, kernel, y).item())
    assert values[-1] >= values[0] and abs(values[-1] - values[-2]) < 0.05 * abs(values[-1]) + 1e-4
    head = SVMHead(c=0.1).eval()
    accuracy = (head(support, y, query).argmax(1) == query_labels).float().mean()
    assert accuracy > 0.9


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
