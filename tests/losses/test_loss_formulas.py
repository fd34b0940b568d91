"""Each loss against an independent float64 NumPy reference, per reduction, plus invariants."""

import math

import losses_reference as ref
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from noisylabels import losses as L

# (registry name, hyperparameters) checked against the reference of the same name.
CASES = [
    ("ce", {}),
    ("fl", {"gamma": 0.5}),
    ("fl", {"gamma": 2.0}),
    ("mae", {}),
    ("rce", {}),
    ("nce", {}),
    ("nfl", {"gamma": 0.5}),
    ("nfl", {"gamma": 2.0}),
    ("gce", {"q": 0.7}),
    ("gce", {"q": 0.1}),
    ("ngce", {"q": 0.7}),
    ("ngce", {"q": 0.1}),
    ("nmae", {}),
    ("sce", {"alpha": 0.1, "beta": 1.0}),
    ("sce", {"alpha": 6.0, "beta": 0.1}),
    ("label_smoothing", {"eps": 0.1}),
    ("label_smoothing", {"eps": 0.4}),
    ("bootstrap_soft", {"beta": 0.95}),
    ("bootstrap_hard", {"beta": 0.8}),
    ("bitempered", {"t1": 0.8, "t2": 1.2, "num_iters": 40}),
    ("bitempered", {"t1": 0.5, "t2": 1.0}),
    ("bitempered", {"t1": 0.7, "t2": 0.8, "num_iters": 50}),
    ("bitempered", {"t1": 1.0, "t2": 1.5, "num_iters": 40}),
    ("bitempered", {"t1": 0.9, "t2": 2.0, "label_smoothing": 0.1, "num_iters": 40}),
]


def _ids(case):
    name, hp = case
    return name + "".join(f"-{k}{v}" for k, v in hp.items() if k != "num_iters")


def make_inputs(batch=12, k=7, scale=3.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = scale * torch.randn(batch, k, generator=g, dtype=torch.float64)
    y = torch.randint(0, k, (batch,), generator=g)
    return x, y


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
@pytest.mark.parametrize("k", [2, 7, 100])
def test_matches_reference_per_reduction(case, k):
    name, hp = case
    x, y = make_inputs(k=k)
    expect = ref.REFERENCES[name](x.numpy(), y.numpy(), **hp)
    loss = L.get(name, num_classes=k, **hp)
    for dtype, tol in ((torch.float64, 1e-9), (torch.float32, 2e-5)):
        xd = x.to(dtype)
        got = loss(xd, y, reduction="none")
        assert got.shape == (len(y),)
        rtol = tol if name != "bitempered" or dtype == torch.float32 else 1e-7
        np.testing.assert_allclose(got.double().numpy(), expect, rtol=rtol, atol=rtol)
        np.testing.assert_allclose(
            loss(xd, y, reduction="mean").item(), expect.mean(), rtol=rtol, atol=rtol
        )
        np.testing.assert_allclose(
            loss(xd, y, reduction="sum").item(), expect.sum(), rtol=rtol, atol=rtol * k
        )
        assert loss(xd, y).item() == pytest.approx(got.mean().item(), rel=1e-6)  # default: mean


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_pure_function_equals_module(case):
    name, hp = case
    fn = getattr(L, f"{name}_loss")
    x, y = make_inputs()
    for red in ("none", "mean", "sum"):
        torch.testing.assert_close(fn(x, y, **hp, reduction=red), L.get(name, **hp)(x, y, red))


def test_rce_is_9_21_times_one_minus_py():
    x, y = make_inputs(k=10)
    p_y = x.softmax(1).gather(1, y[:, None]).squeeze(1)
    got = L.rce_loss(x, y, reduction="none")
    assert L.RCE_CONSTANT == pytest.approx(9.2103, abs=1e-4)
    # equal up to the 1e-7 clamp of the K - 1 other probabilities
    torch.testing.assert_close(got, -math.log(1e-4) * (1 - p_y), rtol=0, atol=9.22 * 9 * 1e-7)
    assert not torch.allclose(got, 4.0 * (1 - p_y))  # not the paper's log10 constant


def test_mae_is_half_the_l1_distance():
    x, y = make_inputs(k=10)
    l1 = (x.softmax(1) - F.one_hot(y, 10)).abs().sum(1)
    torch.testing.assert_close(L.mae_loss(x, y, reduction="none"), l1 / 2)


@pytest.mark.parametrize(
    "name,hp", [("nce", {}), ("nfl", {"gamma": 0.5}), ("ngce", {"q": 0.3}), ("nmae", {})]
)
def test_normalised_losses_sum_to_one_over_labels(name, hp):
    x, _ = make_inputs(k=6)
    loss = L.get(name, **hp)
    total = sum(loss(x, torch.full((len(x),), j), reduction="none") for j in range(6))
    torch.testing.assert_close(total, torch.ones_like(total), rtol=0, atol=1e-6)


def test_special_cases_of_parameters():
    x, y = make_inputs(k=5)
    ce = L.ce_loss(x, y, reduction="none")
    torch.testing.assert_close(L.fl_loss(x, y, gamma=0.0, reduction="none"), ce)
    torch.testing.assert_close(
        L.nfl_loss(x, y, gamma=0.0, reduction="none"), L.nce_loss(x, y, reduction="none")
    )
    torch.testing.assert_close(
        L.gce_loss(x, y, q=1.0, reduction="none"), L.mae_loss(x, y, reduction="none")
    )
    # GCE -> CE as q -> 0 (where no probability hits the 1e-7 clamp)
    xs, ys = make_inputs(k=5, scale=1.0)
    torch.testing.assert_close(
        L.gce_loss(xs, ys, q=1e-6, reduction="none"),
        L.ce_loss(xs, ys, reduction="none"),
        rtol=1e-4,
        atol=1e-4,
    )
    torch.testing.assert_close(L.bootstrap_hard_loss(x, y, beta=1.0, reduction="none"), ce)
    torch.testing.assert_close(L.bootstrap_soft_loss(x, y, beta=1.0, reduction="none"), ce)
    torch.testing.assert_close(L.label_smoothing_loss(x, y, eps=0.0, reduction="none"), ce)
    torch.testing.assert_close(L.sce_loss(x, y, 1.0, 0.0, reduction="none"), ce)


def test_label_smoothing_matches_torch():
    x, y = make_inputs(k=10)
    for eps in (0.1, 0.3):
        torch.testing.assert_close(
            L.label_smoothing_loss(x, y, eps=eps, reduction="none"),
            F.cross_entropy(x, y, label_smoothing=eps, reduction="none"),
        )


def test_ce_matches_torch_in_float32():
    x, y = make_inputs(k=10)
    x = x.float()
    torch.testing.assert_close(
        L.ce_loss(x, y, reduction="none"), F.cross_entropy(x, y, reduction="none")
    )


ACTIVE = sorted(L.ACTIVE_LOSSES)
PASSIVE = sorted(L.PASSIVE_LOSSES)


@pytest.mark.parametrize("active", ACTIVE)
@pytest.mark.parametrize("passive", PASSIVE)
def test_apl_is_alpha_active_plus_beta_passive(active, passive):
    x, y = make_inputs(k=10)
    alpha, beta = 2.5, 0.3
    hp = {"gamma": 0.5} if active in ("fl", "nfl") else {"q": 0.4} if "gce" in active else {}
    loss = L.get(f"{active}+{passive}", num_classes=10, alpha=alpha, beta=beta, **hp)
    assert isinstance(loss, L.ActivePassiveLoss)
    expect = alpha * L.get(active, **hp)(x, y, "none") + beta * L.get(passive)(x, y, "none")
    torch.testing.assert_close(loss(x, y, reduction="none"), expect)
    torch.testing.assert_close(
        L.apl_loss(x, y, active, passive, alpha, beta, reduction="sum", **hp), expect.sum()
    )
    expect_ref = alpha * ref.REFERENCES[active](x.numpy(), y.numpy(), **hp) + beta * ref.REFERENCES[
        passive
    ](x.numpy(), y.numpy())
    np.testing.assert_allclose(loss(x, y, "none").numpy(), expect_ref, rtol=1e-9, atol=1e-9)
    assert loss.is_bounded == (active not in ("ce", "fl"))


def test_apl_from_modules_and_apl_name():
    x, y = make_inputs(k=10)
    a = L.ActivePassiveLoss(L.NGCELoss(q=0.1), L.MAELoss(), alpha=1.0, beta=10.0)
    b = L.get("apl", active="ngce", passive="mae", alpha=1.0, beta=10.0, q=0.1)
    c = L.get("NGCE+MAE", alpha=1.0, beta=10.0, q=0.1)
    torch.testing.assert_close(a(x, y), b(x, y))
    torch.testing.assert_close(a(x, y), c(x, y))
    assert c.name == "ngce+mae" and c.hparams()["q"] == 0.1


def _grad(fn, x, y):
    x = x.clone().requires_grad_()
    fn(x, y).sum().backward()
    return x.grad


def test_nfl_focal_factors_carry_no_gradient():
    x, y = make_inputs(k=6)
    gamma = 0.5

    def manual(x, y):  # factors computed from detached probabilities, as in the APL code
        logp = torch.log(torch.softmax(x, 1))
        c = (1 - torch.softmax(x.detach(), 1)) ** gamma
        return (c * logp).gather(1, y[:, None]).squeeze(1) / (c * logp).sum(1)

    def full(x, y):
        logp = torch.log(torch.softmax(x, 1))
        c = (1 - torch.softmax(x, 1)) ** gamma
        return (c * logp).gather(1, y[:, None]).squeeze(1) / (c * logp).sum(1)

    g = _grad(lambda a, b: L.nfl_loss(a, b, gamma, reduction="none"), x, y)
    torch.testing.assert_close(g, _grad(manual, x, y))
    g_full = _grad(
        lambda a, b: L.nfl_loss(a, b, gamma, detach_factor=False, reduction="none"), x, y
    )
    torch.testing.assert_close(g_full, _grad(full, x, y))
    assert not torch.allclose(g, g_full)


def test_fl_gradient_detach_option():
    x, y = make_inputs(k=6, scale=1.0)

    def full(x, y):
        p = torch.softmax(x, 1).gather(1, y[:, None]).squeeze(1)
        return -((1 - p) ** 2.0) * torch.log(p)

    def detached(x, y):
        p = torch.softmax(x, 1).gather(1, y[:, None]).squeeze(1)
        return -((1 - p.detach()) ** 2.0) * torch.log(p)

    torch.testing.assert_close(
        _grad(lambda a, b: L.fl_loss(a, b, 2.0, reduction="none"), x, y), _grad(full, x, y)
    )
    torch.testing.assert_close(
        _grad(lambda a, b: L.fl_loss(a, b, 2.0, detach_factor=True, reduction="none"), x, y),
        _grad(detached, x, y),
    )


def test_bootstrap_soft_gradient():
    x, y = make_inputs(k=6)
    beta = 0.95
    ce_grad = _grad(lambda a, b: L.ce_loss(a, b, reduction="none"), x, y)
    # detached target: the p terms cancel, leaving beta * CE's gradient
    g_det = _grad(
        lambda a, b: L.bootstrap_soft_loss(a, b, beta, detach=True, reduction="none"), x, y
    )
    torch.testing.assert_close(g_det, beta * ce_grad)
    # default: CE weighted by beta plus (1 - beta) * entropy, both differentiated

    def manual(a, b):
        p = torch.softmax(a, 1)
        ent = -(p * torch.log(p)).sum(1)
        return beta * F.cross_entropy(a, b, reduction="none") + (1 - beta) * ent

    g = _grad(lambda a, b: L.bootstrap_soft_loss(a, b, beta, reduction="none"), x, y)
    torch.testing.assert_close(g, _grad(manual, x, y))


def test_bootstrap_hard_argmax_has_no_gradient_path():
    x, y = make_inputs(k=6)

    def manual(a, b):
        pred = a.detach().argmax(1)
        return 0.8 * F.cross_entropy(a, b, reduction="none") + 0.2 * F.cross_entropy(
            a, pred, reduction="none"
        )

    torch.testing.assert_close(
        _grad(lambda a, b: L.bootstrap_hard_loss(a, b, 0.8, reduction="none"), x, y),
        _grad(manual, x, y),
    )


@pytest.mark.parametrize("name", [n for n in L.names(pairs=False) if n != "bitempered"])
def test_soft_targets_mix_the_per_label_losses(name):
    x, y = make_inputs(k=5)
    loss = L.get(name)
    assert L.supports_soft_targets(loss) and L.supports_soft_targets(name)
    # a one-hot float target equals the integer target
    torch.testing.assert_close(loss(x, F.one_hot(y, 5).double(), "none"), loss(x, y, "none"))
    # a soft target is the target-weighted mix of the K per-label losses (what mixup needs)
    g = torch.Generator().manual_seed(1)
    t = torch.rand(len(x), 5, generator=g, dtype=torch.float64)
    t = t / t.sum(1, keepdim=True)
    per_label = torch.stack([loss(x, torch.full_like(y, j), "none") for j in range(5)], 1)
    torch.testing.assert_close(loss(x, t, "none"), (t * per_label).sum(1))


def test_soft_cross_entropy():
    x, _ = make_inputs(k=5)
    g = torch.Generator().manual_seed(2)
    t = torch.softmax(torch.randn(len(x), 5, generator=g, dtype=torch.float64), 1)
    expect = -(t.numpy() * np.log(ref.softmax(x.numpy()))).sum(1)
    np.testing.assert_allclose(L.soft_cross_entropy(x, t, "none").numpy(), expect, rtol=1e-10)
    torch.testing.assert_close(L.soft_cross_entropy(x, t), F.cross_entropy(x, t))
