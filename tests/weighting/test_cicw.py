import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from cicw_reference import divergence, one_hot, reference_min

from noisylabels.errors import UsageError
from noisylabels.weighting import (
    ClassReweighting,
    cicw_targets,
    class_reweighted_ce,
    class_targets_from_costs,
)
from noisylabels.weighting.cicw import soft_class_targets

GAMMAS = {
    "kl": [0.01, 0.1, 1.0, 3.0],
    "l1": [0.02, 0.2, 1.0, 1.9, 2.5],
    "l2": [0.01, 0.1, 0.5, 1.0, 1.3, 1.8, 2.5],  # > 1: the v_y = 0 branch; >= 2: a vertex
}


@pytest.mark.parametrize("div", ["kl", "l1", "l2"])
def test_closed_form_equals_an_independent_solve(div):
    rng = np.random.default_rng({"kl": 0, "l1": 1, "l2": 2}[div])
    for _ in range(40):
        k = int(rng.integers(2, 7))
        c = rng.exponential(2.0, size=k)
        y = int(rng.integers(k))
        gamma = float(rng.choice(GAMMAS[div]))
        v = class_targets_from_costs(torch.tensor(c)[None], torch.tensor([y]), gamma, div)[0]
        v, e = v.numpy(), one_hot(y, k)
        assert v.min() >= -1e-12 and v.sum() == pytest.approx(1.0, abs=1e-9)
        assert divergence(v, e, div) <= gamma + 1e-9
        assert v @ c == pytest.approx(reference_min(c, e, gamma, div, rng), abs=1e-6)


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
        assert divergence(v, y, div) <= gamma + 1e-9
        assert v @ c <= reference_min(c, y, gamma, div, rng) + 1e-7


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
