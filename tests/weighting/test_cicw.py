import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.optimize import linprog, minimize

from noisylabels.errors import UsageError
from noisylabels.weighting import (
    ClassReweighting,
    cicw_targets,
    class_reweighted_ce,
    class_targets_from_costs,
)
from noisylabels.weighting.cicw import soft_class_targets


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


# -- soft labels (mixup targets) -----------------------------------------------------------------


def _soft_divergence(v, y, div):
    if div == "kl":
        s = y > 0
        return float((y[s] * (np.log(y[s]) - np.log(np.maximum(v[s], 1e-300)))).sum())
    if div == "l1":
        return float(np.abs(v - y).sum())
    return float(((v - y) ** 2).sum())


def _l1_linprog(c, y, gamma):
    """The L1 problem as a linear program in (v, t) with t >= |v - y|."""
    k = len(c)
    eye = np.eye(k)
    a_ub = np.block([[eye, -eye], [-eye, -eye], [np.zeros((1, k)), np.ones((1, k))]])
    b_ub = np.concatenate([y, -y, [gamma]])
    a_eq = np.concatenate([np.ones(k), np.zeros(k)])[None]
    r = linprog(
        np.concatenate([c, np.zeros(k)]), A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=[1.0],
        bounds=[(0, 1)] * k + [(0, None)] * k, method="highs",
    )  # fmt: skip
    assert r.status == 0
    return r.fun


def _soft_brute_force(c, y, gamma, div, rng):
    """min_v <v, c> over the simplex with D(y, v) <= gamma: a linear program for L1, else
    SLSQP from several starts."""
    if div == "l1":
        return _l1_linprog(c, y, gamma)
    k = len(c)
    cons = [
        {"type": "eq", "fun": lambda v: v.sum() - 1.0},
        {"type": "ineq", "fun": lambda v: gamma - _soft_divergence(np.clip(v, 0, 1), y, div)},
    ]
    best = math.inf
    for start in range(4):
        x0 = 0.98 * y + 0.02 / k if start == 0 else rng.dirichlet(np.ones(k))
        r = minimize(
            lambda v: v @ c,
            x0,
            jac=lambda v: c,
            bounds=[(0.0, 1.0)] * k,
            constraints=cons,
            method="SLSQP",
            options={"ftol": 1e-13, "maxiter": 500},
        )
        x = np.clip(r.x, 0, 1)
        if abs(r.x.sum() - 1) < 1e-6 and _soft_divergence(x, y, div) <= gamma + 1e-7:
            best = min(best, r.x @ c)
    return best


def _mixed_label(k, rng):
    y = np.zeros(k)
    a, b = rng.choice(k, 2, replace=bool(rng.integers(4) == 0))  # sometimes the same class
    lam = rng.uniform()
    y[a] += lam
    y[b] += 1 - lam
    return y


SOFT_GAMMAS = {
    "kl": [0.001, 0.01, 0.1, 1.0, 3.0],
    "l1": [0.02, 0.3, 1.0, 2.5],
    "l2": [0.01, 0.1, 0.5, 1.3, 2.5],
}


@pytest.mark.parametrize("div", ["kl", "l1", "l2"])
def test_soft_targets_equal_an_independent_solve(div):
    rng = np.random.default_rng({"kl": 10, "l1": 11, "l2": 12}[div])
    for i in range(24):
        k = int(rng.integers(2, 7))
        c = rng.exponential(2.0, size=k)
        y = _mixed_label(k, rng) if i % 4 else rng.dirichlet(np.ones(k) * 0.5)
        gamma = float(rng.choice(SOFT_GAMMAS[div]))
        v = soft_class_targets(torch.tensor(c)[None], torch.tensor(y)[None], gamma, div)[0]
        v = v.numpy()
        assert v.min() >= -1e-12 and v.sum() == pytest.approx(1.0, abs=1e-9)
        assert _soft_divergence(v, y, div) <= gamma + 1e-9
        assert v @ c <= _soft_brute_force(c, y, gamma, div, rng) + 1e-7


@pytest.mark.parametrize("div", ["kl", "l1", "l2"])
def test_soft_targets_of_one_hot_labels_are_the_closed_forms(div):
    g = torch.Generator().manual_seed(3)
    costs = torch.rand(64, 6, generator=g, dtype=torch.float64) * 4
    y = torch.randint(0, 6, (64,), generator=g)
    costs[:4] = costs[:4].gather(1, y[:4, None])  # ties: y has the lowest cost
    for gamma in (0.01, 0.3, 1.5):
        hard = class_targets_from_costs(costs, y, gamma, div)
        soft = soft_class_targets(costs, F.one_hot(y, 6).double(), gamma, div)
        torch.testing.assert_close(soft, hard, rtol=0, atol=1e-12)


def test_kl_moves_mass_between_the_mixed_classes():
    # two mixed classes (0.5 / 0.5), class 1 has the lower loss and the other classes are
    # expensive: the optimum shifts mass from class 0 to class 1, which mixing the two one-hot
    # solutions (each keeps its own class at e^-gamma) cannot do
    costs = torch.tensor([[2.0, 0.5, 9.0, 9.0]], dtype=torch.float64)
    y = torch.tensor([[0.5, 0.5, 0.0, 0.0]], dtype=torch.float64)
    gamma = 0.1
    v = soft_class_targets(costs, y, gamma, "kl")[0]
    assert v[1] > 0.6 and v[2] == v[3] == 0
    kl = (y[0, :2] * (y[0, :2] / v[:2]).log()).sum().item()
    assert kl == pytest.approx(gamma, abs=1e-10)  # the whole budget is spent
    # on two classes the optimum is v_1 = x with 0.5 log(0.5/(1-x)) + 0.5 log(0.5/x) = gamma
    x = 0.5 + 0.5 * math.sqrt(1 - math.exp(-2 * gamma))
    assert v[1].item() == pytest.approx(x, abs=1e-12)
    mixed_one_hot = 0.5 * cicw_like_one_hot(costs, 0, gamma) + 0.5 * cicw_like_one_hot(
        costs, 1, gamma
    )
    assert (v * costs[0]).sum() < (mixed_one_hot * costs[0]).sum() - 0.1


def cicw_like_one_hot(costs, label, gamma):
    return class_targets_from_costs(costs, torch.tensor([label]), gamma, "kl")[0]


def test_kl_soft_mass_goes_to_a_cheaper_class_outside_the_mix():
    costs = torch.tensor([[2.0, 1.0, 0.1, 5.0]], dtype=torch.float64)
    y = torch.tensor([[0.3, 0.7, 0.0, 0.0]], dtype=torch.float64)
    v = soft_class_targets(costs, y, 0.5, "kl")[0]
    assert v[2] > 0 and v[3] == 0
    kl = (y[0, :2] * (y[0, :2] / v[:2]).log()).sum().item()
    assert kl == pytest.approx(0.5, abs=1e-10)


def test_soft_targets_keep_y_when_it_has_the_lowest_cost_and_validate_shapes():
    costs = torch.tensor([[1.0, 1.0, 3.0]], dtype=torch.float64)
    y = torch.tensor([[0.4, 0.6, 0.0]], dtype=torch.float64)
    for div in ("kl", "l1", "l2"):
        torch.testing.assert_close(soft_class_targets(costs, y, 0.5, div), y)
        torch.testing.assert_close(soft_class_targets(costs, y, 0.0, div), y)
    with pytest.raises(UsageError, match="shape"):
        soft_class_targets(costs, y[:, :2], 0.1, "kl")


def test_soft_targets_are_batched_rows_independently():
    g = torch.Generator().manual_seed(5)
    costs = torch.rand(20, 5, generator=g, dtype=torch.float64) * 3
    y = torch.softmax(torch.randn(20, 5, generator=g, dtype=torch.float64) * 3, dim=1)
    for div in ("kl", "l1", "l2"):
        whole = soft_class_targets(costs, y, 0.2, div)
        rows = torch.cat(
            [soft_class_targets(costs[i : i + 1], y[i : i + 1], 0.2, div) for i in range(20)]
        )
        torch.testing.assert_close(whole, rows, rtol=0, atol=1e-12)
