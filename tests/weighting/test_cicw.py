import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from noisylabels.errors import UsageError
from noisylabels.weighting import (
    ClassReweighting,
    cicw_targets,
    class_reweighted_ce,
    class_targets_from_costs,
)


def _divergence(v, y, div):
    e = np.zeros_like(v)
    e[y] = 1.0
    if div == "kl":
        return -math.log(max(v[y], 1e-300))
    if div == "l1":
        return np.abs(v - e).sum()
    return ((v - e) ** 2).sum()


def _brute_force(c, y, gamma, div, rng):
    """min_v <v, c> over the simplex with D(e_y, v) <= gamma, by SLSQP from several starts."""
    k = len(c)
    e = np.zeros(k)
    e[y] = 1.0
    cons = [
        {"type": "eq", "fun": lambda v: v.sum() - 1.0},
        {"type": "ineq", "fun": lambda v: gamma - _divergence(np.clip(v, 0, 1), y, div)},
    ]
    best = math.inf
    for start in range(5):
        x0 = 0.99 * e + 0.01 / k if start == 0 else rng.dirichlet(np.ones(k))
        r = minimize(
            lambda v: v @ c,
            x0,
            jac=lambda v: c,
            bounds=[(0.0, 1.0)] * k,
            constraints=cons,
            method="SLSQP",
            options={"ftol": 1e-12, "maxiter": 300},
        )
        feasible = abs(r.x.sum() - 1) < 1e-6 and _divergence(np.clip(r.x, 0, 1), y, div) <= (
            gamma + 1e-6
        )
        if feasible:
            best = min(best, r.fun)
    return best


GAMMAS = {
    "kl": [0.01, 0.1, 1.0, 3.0],
    "l1": [0.02, 0.2, 1.0, 1.9, 2.5],
    "l2": [0.01, 0.1, 0.5, 1.0, 1.3, 1.8, 2.5],  # > 1: the v_y = 0 branch; >= 2: a vertex
}


@pytest.mark.parametrize("div", ["kl", "l1", "l2"])
def test_closed_form_equals_brute_force(div):
    rng = np.random.default_rng({"kl": 0, "l1": 1, "l2": 2}[div])
    for _ in range(40):
        k = int(rng.integers(2, 7))
        c = rng.exponential(2.0, size=k)
        y = int(rng.integers(k))
        gamma = float(rng.choice(GAMMAS[div]))
        v = class_targets_from_costs(torch.tensor(c)[None], torch.tensor([y]), gamma, div)[0]
        v = v.numpy()
        assert v.min() >= -1e-12 and v.sum() == pytest.approx(1.0, abs=1e-9)
        assert _divergence(v, y, div) <= gamma + 1e-9
        assert v @ c == pytest.approx(_brute_force(c, y, gamma, div, rng), abs=1e-6)


@pytest.mark.parametrize("div", ["kl", "l1", "l2"])
def test_given_label_with_lowest_loss_keeps_one_hot(div):
    logits = torch.tensor([[3.0, 1.0, 0.0], [0.0, 2.0, 2.0]])
    y = torch.tensor([0, 1])  # sample 2: y ties with the lowest loss -> keep y
    v = cicw_targets(logits, y, gamma=0.5, div=div)
    torch.testing.assert_close(v, torch.nn.functional.one_hot(y, 3).float())


def test_kl_is_hard_bootstrapping():
    logits = torch.tensor([[0.1, 2.0, -1.0], [1.0, 0.0, 3.0]], requires_grad=True)
    y = torch.tensor([0, 1])
    gamma = 0.3
    beta = math.exp(-gamma)
    ce = -logits.log_softmax(1)
    pred = logits.argmax(1)
    ref = beta * ce[torch.arange(2), y] + (1 - beta) * ce[torch.arange(2), pred]
    got = class_reweighted_ce(logits, y, gamma, "kl")
    torch.testing.assert_close(got, ref)
    # v is held fixed: the gradient is that of the soft cross entropy with target v
    got.sum().backward()
    v = cicw_targets(logits, y, gamma, "kl")
    torch.testing.assert_close(logits.grad, logits.softmax(1).detach() - v)


def test_l1_moves_half_gamma():
    logits = torch.log(torch.tensor([[0.2, 0.7, 0.1]]))
    v = cicw_targets(logits, torch.tensor([0]), gamma=0.4, div="l1")
    torch.testing.assert_close(v, torch.tensor([[0.8, 0.2, 0.0]]))


def test_l2_small_gamma_uses_whole_budget():
    costs = torch.tensor([[2.0, 0.5, 1.0, 4.0]])
    v = class_targets_from_costs(costs, torch.tensor([0]), 0.1, "l2")
    assert ((v - torch.tensor([[1.0, 0, 0, 0]])) ** 2).sum().item() == pytest.approx(0.1)
    assert v[0, 3] == 0 and v[0, 1] > v[0, 2] > 0


def test_l2_ties_and_large_gamma():
    costs = torch.tensor([[1.0, 0.5, 0.5, 0.5, 3.0]])
    v = class_targets_from_costs(costs, torch.tensor([0]), 1.5, "l2")
    torch.testing.assert_close(v, torch.tensor([[0.0, 1 / 3, 1 / 3, 1 / 3, 0.0]]))
    v = class_targets_from_costs(costs[:, [0, 1, 4]], torch.tensor([0]), 2.0, "l2")
    torch.testing.assert_close(v, torch.tensor([[0.0, 1.0, 0.0]]))


def test_zero_gamma_and_validation():
    logits = torch.randn(5, 4, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 3, 0])
    for div in ("kl", "l1", "l2"):
        v = cicw_targets(logits, y, 0.0, div)
        torch.testing.assert_close(v, torch.nn.functional.one_hot(y, 4).float())
    with pytest.raises(UsageError):
        cicw_targets(logits, y, -0.1, "kl")
    with pytest.raises(UsageError):
        ClassReweighting(div="hellinger")
