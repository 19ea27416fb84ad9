"""Each algorithmic step of SAMUEL and NPACS on a tiny case, against values computed by hand."""

import math

import numpy as np
import pytest
import torch

from methods.optimizers import continuation, samuel
from methods.optimizers.models import HomotopyAutoencoder, set_lambda


def test_expert_weights_start_at_eta_in_every_column():
    w = samuel.initial_weights(np.array([0.5, 2.0]), 3)
    assert w.tolist() == [[0.5, 0.5, 0.5], [2.0, 2.0, 2.0]]
    assert samuel.expert_probabilities(w).tolist() == pytest.approx([1 / 3] * 3)


def test_mw_update_rewards_experts_below_the_current_loss():
    etas = np.array([1.0, 2.0])
    w = samuel.initial_weights(etas, 3)
    losses = np.array([1.0, 0.5, 2.0])
    out = samuel.mw_update(w, etas, losses, current=0)
    # w[m, i] * exp(eta_m * (loss_0 - loss_i)): regrets (0, 0.5, -1)
    expected = [[1.0, math.exp(0.5), math.exp(-1.0)], [2.0, 2.0 * math.exp(1.0), 2.0 * math.exp(-2.0)]]
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    p = samuel.expert_probabilities(out)
    total = 3.0 + math.exp(0.5) + 2 * math.e + math.exp(-1.0) + 2 * math.exp(-2.0)
    assert p.tolist() == pytest.approx([3.0 / total, (math.exp(0.5) + 2 * math.e) / total,
                                        (math.exp(-1.0) + 2 * math.exp(-2.0)) / total])


def test_hedge_rescaling_keeps_the_probabilities_of_the_plain_update():
    etas = np.array([1.0, 10.0])
    hedge = samuel.Hedge(etas, 3, seed=0)
    plain = samuel.initial_weights(etas, 3)
    for losses in ([1.0, 0.9, 1.2], [0.8, 0.7, 0.9], [0.5, 0.6, 0.4]):
        current = hedge.round(np.array(losses))
        plain = samuel.mw_update(plain, etas, np.array(losses), current)
        assert samuel.expert_probabilities(hedge.weights) == pytest.approx(samuel.expert_probabilities(plain))
        assert hedge.weights.sum() == pytest.approx(1.0)


def test_hedge_ends_on_the_expert_that_is_always_best():
    hedge = samuel.Hedge(np.array([1.0, 10.0]), 3, seed=1)
    picks = [hedge.round(np.array([1.0, 0.2, 1.5])) for _ in range(20)]
    assert picks[-5:] == [1] * 5


def test_homotopy_activation_is_linear_at_zero_and_the_activation_at_one():
    v = torch.tensor([-2.0, 0.0, 3.0])
    assert continuation.homotopy_activation(v, 0.0, "sigmoid").tolist() == v.tolist()
    assert continuation.homotopy_activation(v, 1.0, "relu").tolist() == [0.0, 0.0, 3.0]
    half = continuation.homotopy_activation(v, 0.5, "tanh")
    assert half.tolist() == pytest.approx([0.5 * -2.0 + 0.5 * math.tanh(-2.0), 0.0, 1.5 + 0.5 * math.tanh(3.0)])


def test_secant_step_extrapolates_by_the_ratio_of_lambda_steps():
    theta, prev = np.array([1.0, 2.0]), np.array([0.5, 3.0])
    # theta + (0.02 / 0.01) * (theta - prev) = [1 + 2 * 0.5, 2 + 2 * -1]
    assert continuation.secant_predict(theta, prev, 0.02, 0.01).tolist() == [2.0, 0.0]


def test_adaptive_step_grows_shrinks_and_halves_above_the_norm_ceiling():
    rule = continuation.StepRule()
    falling = [0.2, 0.2, 0.1, 0.1]  # mean 0.2 -> 0.1: fell by 50%
    assert continuation.adaptive_step(0.01, falling, 2, rule) == pytest.approx(0.015)
    assert continuation.adaptive_step(0.019, falling, 2, rule) == pytest.approx(0.02)  # capped
    rising = [0.1, 0.1, 0.2, 0.2]
    assert continuation.adaptive_step(0.01, rising, 2, rule) == pytest.approx(0.005)
    assert continuation.adaptive_step(0.001, rising, 2, rule) == pytest.approx(0.0008)  # floored
    flat_high = [0.3, 0.3, 0.3, 0.3]  # no change, but a norm reached 0.25
    assert continuation.adaptive_step(0.01, flat_high, 2, rule) == pytest.approx(0.005)
    assert continuation.adaptive_step(0.01, [0.1, 0.1, 0.1], 2, rule) == 0.01  # fewer than two windows


def test_pca_weights_are_the_cascaded_principal_directions():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(6, 6)))[0]
    x = rng.normal(size=(500, 6)) * np.array([5.0, 3.0, 1.0, 0.1, 0.05, 0.01]) @ basis.T
    w1, w2 = continuation.pca_weights(x, (3, 2))
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    assert np.abs(w1.T @ vt[:3].T) == pytest.approx(np.eye(3), abs=1e-4)  # the top 3, in order, up to sign
    assert w2.shape == (3, 2)
    recon = x @ w1 @ w2 @ w2.T @ w1.T  # a linear AE at lambda = 0 is the rank-2 PCA projection
    best = x @ vt[:2].T @ vt[:2]
    assert np.abs(recon - best).max() == pytest.approx(0.0, abs=1e-3)


def test_pca_initialised_autoencoder_at_lambda_zero_is_the_pca_reconstruction():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 8)) * np.array([4.0, 2.0, 1.0, 0.5, 0.1, 0.1, 0.1, 0.1])
    model = HomotopyAutoencoder(8, (4, 2), "sigmoid")
    weights = continuation.pca_weights(x, (4, 2))
    model.pca_init(weights, bias=0.0)
    set_lambda(model, 0.0)
    out = model(torch.tensor(x, dtype=torch.float32)).detach().numpy()
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    assert out == pytest.approx(x @ vt[:2].T @ vt[:2], abs=1e-3)
    set_lambda(model, 1.0)
    assert not np.allclose(model(torch.tensor(x, dtype=torch.float32)).detach().numpy(), out, atol=1e-3)
