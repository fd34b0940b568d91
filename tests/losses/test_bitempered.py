"""Bi-tempered loss: CE limit, normaliser, reference values, gradient, boundedness, numerics."""

import losses_reference as ref
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from noisylabels import losses as L
from noisylabels.errors import UsageError
from noisylabels.losses import bitempered_loss, exp_t, log_t, tempered_normalizer, tempered_softmax


def inputs(batch=16, k=10, scale=3.0, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    x = scale * torch.randn(batch, k, generator=g, dtype=dtype)
    return x, torch.randint(0, k, (batch,), generator=g)


def test_t1_t2_one_is_cross_entropy_to_float_precision():
    x, y = inputs()
    for red in ("none", "mean", "sum"):
        torch.testing.assert_close(
            bitempered_loss(x, y, 1.0, 1.0, reduction=red),
            F.cross_entropy(x, y, reduction=red),
            rtol=1e-5,
            atol=1e-5,
        )
    # gradient too
    a = x.clone().requires_grad_()
    b = x.clone().requires_grad_()
    bitempered_loss(a, y).backward()
    F.cross_entropy(b, y).backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-7)
    # the general path at t = 1 (custom gradient) gives CE as well
    torch.testing.assert_close(
        bitempered_loss(x, y, 1.0, 1.0 + 1e-12, reduction="none"),
        F.cross_entropy(x, y, reduction="none"),
        rtol=1e-4,
        atol=1e-4,
    )


def test_t1_t2_one_with_smoothing_is_kl_to_smoothed_target():
    x, y = inputs(dtype=torch.float64)
    eps, k = 0.2, x.shape[1]
    t = F.one_hot(y, k).double() * (1 - eps) + eps / (k - 1) * (1 - F.one_hot(y, k).double())
    kl = (torch.xlogy(t, t) - t * x.log_softmax(1)).sum(1)
    torch.testing.assert_close(bitempered_loss(x, y, label_smoothing=eps, reduction="none"), kl)


@pytest.mark.parametrize("t", [0.3, 0.5, 0.8, 1.0, 1.2, 1.5, 2.0, 4.0])
def test_normaliser_makes_tempered_softmax_sum_to_one(t):
    for k in (2, 10, 100):
        x, _ = inputs(batch=64, k=k)
        p = tempered_softmax(x, t, num_iters=40)
        torch.testing.assert_close(p.sum(1), torch.ones(64), rtol=0, atol=1e-5)
        assert (p >= 0).all()
        # default iterations: 5 fixed-point steps (official) / 20 bisection steps
        p = tempered_softmax(x, t)
        assert (p.sum(1) - 1).abs().max() < (0.05 if t > 1 else 1e-5)
        x64 = x[:8].double()
        np.testing.assert_allclose(
            tempered_softmax(x64, t, num_iters=60).numpy(),
            ref.tempered_softmax(x64.numpy(), t),
            rtol=1e-8,
            atol=1e-10,
        )


def test_tempered_softmax_basics():
    x, _ = inputs()
    torch.testing.assert_close(tempered_softmax(x, 1.0), x.softmax(1))
    u = torch.linspace(-1.9, 1.9, 9, dtype=torch.float64)
    for t in (0.5, 1.0, 1.5):  # exp_t is invertible on 1 + (1 - t) u > 0
        torch.testing.assert_close(log_t(exp_t(u, t), t), u)
    torch.testing.assert_close(exp_t(u, 0.5), torch.relu(1 + 0.5 * u) ** 2)
    torch.testing.assert_close(exp_t(u, 1.5), torch.relu(1 - 0.5 * u) ** -2)
    assert exp_t(torch.tensor([-3.0]), 0.5).item() == 0.0  # outside the support
    assert exp_t(torch.tensor([2.0]), 1.5).item() == float("inf")  # at the pole
    assert tempered_normalizer(x, 1.0).shape == (len(x), 1)
    # t2 < 1 has a finite support: a class far below the rest gets probability exactly 0
    p = tempered_softmax(torch.tensor([[0.0, 0.0, -50.0]]), 0.5)
    assert p[0, 2] == 0 and p[0, :2].sum().item() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("t1,t2", [(0.8, 2.0), (0.5, 1.0), (1.0, 1.5), (0.7, 0.6), (1.0, 0.7)])
def test_gradient_matches_finite_differences(t1, t2):
    x, y = inputs(batch=3, k=4, scale=1.5, dtype=torch.float64)
    x.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a: bitempered_loss(a, y, t1, t2, num_iters=40, reduction="none"), (x,), eps=1e-6
    )
    assert torch.autograd.gradcheck(lambda a: tempered_softmax(a, t2, num_iters=40), (x,), eps=1e-6)


def test_gradient_with_classes_outside_the_finite_support():
    x = torch.tensor([[2.0, 1.5, -30.0, 0.5], [0.0, -40.0, 1.0, 0.2]], dtype=torch.float64)
    y = torch.tensor([2, 0])
    assert (tempered_softmax(x, 0.6, num_iters=60) == 0).any()
    assert torch.autograd.gradcheck(
        lambda a: bitempered_loss(a, y, 0.8, 0.6, num_iters=60, reduction="none"),
        (x.requires_grad_(),),
        eps=1e-6,
    )


@pytest.mark.parametrize("t1,t2", [(0.5, 0.5), (0.8, 0.8), (0.5, 0.8), (0.8, 1.3), (0.7, 1.0)])
def test_gradient_is_the_official_custom_gradient(t1, t2):
    # row 0: the labelled class lies outside the finite support (p = 0) when t2 < 1
    x = torch.tensor(
        [[2.0, 1.5, -30.0, 0.5], [0.0, -0.4, 1.0, 0.2], [3.0, -1.0, 0.5, 0.0]],
        dtype=torch.float64,
        requires_grad=True,
    )
    y = torch.tensor([2, 0, 1])
    bitempered_loss(x, y, t1, t2, num_iters=80, reduction="sum").backward()
    p = ref.tempered_softmax(x.detach().numpy(), t2)
    official = ref.bitempered_grad_official(p, np.eye(4)[y.numpy()], t1, t2)
    np.testing.assert_allclose(x.grad.numpy(), official, rtol=1e-7, atol=1e-9)
    if t2 < 1:
        assert p[0, 2] == 0
        if t1 == t2:  # official: (p - y) is kept, so the sample keeps training
            np.testing.assert_allclose(x.grad[0].numpy(), p[0] - np.eye(4)[2], atol=1e-9)
            assert x.grad[0, 2].item() == pytest.approx(-1.0)
        else:  # p^(t2 - t1) = 0 there: no pull towards the labelled class
            assert x.grad[0, 2].item() == 0.0


@pytest.mark.parametrize("t1", [0.0, 0.2, 0.5, 0.8, 0.95])
@pytest.mark.parametrize("t2", [0.7, 1.0, 1.5, 4.0])
def test_bounded_for_t1_below_one(t1, t2):
    k = 10
    x = torch.zeros(3, k)
    x[:, 0] = torch.tensor([-1e4, -50.0, -10.0])  # the true class pushed to -inf
    y = torch.zeros(3, dtype=torch.long)
    loss = bitempered_loss(x, y, t1, t2, num_iters=30, reduction="none")
    assert torch.isfinite(loss).all()
    assert (loss <= 1.0 / (1.0 - t1) + 1e-4).all()
    if t2 <= 1.0:  # (heavy tails keep p_y > 0 far out)
        # limit: p_y -> 0 and the rest uniform over k - 1 classes
        limit = 1.0 / (1.0 - t1) - (1.0 - (k - 1) ** (t1 - 1.0)) / (2.0 - t1)
        assert loss[0].item() == pytest.approx(limit, rel=1e-4)
    assert L.get("bitempered", t1=t1, t2=t2).is_bounded
    assert not L.get("bitempered", t1=1.0, t2=t2).is_bounded


@pytest.mark.parametrize(
    "t1,t2", [(0.8, 2.0), (0.8, 1.0), (0.2, 1.0), (1.0, 2.0), (0.5, 0.5), (1.0, 0.5), (0.9, 4.0)]
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_reported_failure_cases_finite_at_extreme_logits(t1, t2, dtype):
    # google/bi-tempered-loss #13 (NaN at t1=0.8, t2=2) and #2 (t2=1 with t1<1)
    x = torch.full((4, 6), -1e4)
    x[:, 0] = 1e4
    x[1] = 0.0
    x = x.to(dtype).requires_grad_()
    y = torch.tensor([0, 3, 5, 1])
    for eps in (0.0, 0.1):
        x.grad = None
        loss = bitempered_loss(x, y, t1, t2, label_smoothing=eps, reduction="none")
        loss.sum().backward()
        assert loss.dtype == torch.float32
        assert torch.isfinite(loss).all() and torch.isfinite(x.grad.float()).all()


def test_soft_labels_follow_the_official_formula():
    x, _ = inputs(batch=6, k=4, dtype=torch.float64)
    g = torch.Generator().manual_seed(3)
    t = torch.softmax(torch.randn(6, 4, generator=g, dtype=torch.float64), 1)
    for t1, t2 in ((0.8, 1.3), (0.6, 1.0)):
        np.testing.assert_allclose(
            bitempered_loss(x, t, t1, t2, num_iters=60, reduction="none").numpy(),
            ref.bitempered_soft(x.numpy(), t.numpy(), t1, t2),
            rtol=1e-8,
        )


def test_bad_temperatures():
    x, y = inputs()
    for kw in ({"t1": 1.5}, {"t1": -0.1}, {"t2": 0.0}, {"label_smoothing": 1.0}, {"num_iters": 0}):
        with pytest.raises(UsageError):
            bitempered_loss(x, y, **kw)
        with pytest.raises(UsageError):
            L.get("bitempered", **kw)
