import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from noisylabels import losses
from noisylabels.methods import StandardMethod, build_method
from noisylabels.methods.base import Batch, MethodContext, StepState
from noisylabels.weighting import (
    CIWeighting,
    ConfidenceWeighting,
    MixedBatch,
    ciw_weights,
    confidence_weights,
)

K = 3
CTX = MethodContext(num_classes=K, num_train=64, num_epochs=2, steps_per_epoch=4, seed=7)


def net(seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, K))


def batch(seed=0, n=12):
    g = torch.Generator().manual_seed(seed)
    return Batch(
        torch.randn(n, 5, generator=g), torch.randint(0, K, (n,), generator=g), torch.arange(n)
    )


S0 = StepState(epoch=0, step=0, num_epochs=2, steps_per_epoch=4)
S5 = StepState(epoch=1, step=5, num_epochs=2, steps_per_epoch=4)


def test_plain_ce_is_cross_entropy():
    m = build_method("ce", CTX, net)
    b = batch()
    out = m.step(b, S0)
    ref_logits = net()(b.x)
    torch.testing.assert_close(out.logits, ref_logits.detach())
    torch.testing.assert_close(out.loss, F.cross_entropy(ref_logits, b.y))
    assert out.weights is None


def test_ciw_loss_is_weighted_mean_after_burnin_and_plain_before():
    m = StandardMethod(
        net(), losses.get("ce"), num_classes=K,
        weighting=CIWeighting(lam=0.5, alpha=1.0, burnin_steps=3, anneal_steps=0),
    )  # fmt: skip
    b = batch()
    ce = F.cross_entropy(net()(b.x), b.y, reduction="none")
    out = m.step(b, StepState(0, 2, 2, 4))  # iteration 3 <= burn-in
    assert out.weights is None
    torch.testing.assert_close(out.loss, ce.mean())
    out = m.step(b, StepState(0, 3, 2, 4))
    w = ciw_weights(ce.detach(), 0.5)
    torch.testing.assert_close(out.weights, w)
    torch.testing.assert_close(out.loss, (w * ce).mean())
    assert out.extras == {"ciw_lambda": 0.5}


def test_confidence_method():
    m = StandardMethod(net(), losses.get("ce"), num_classes=K, weighting=ConfidenceWeighting())
    b = batch()
    logits = net()(b.x)
    w = confidence_weights(logits, b.y)
    out = m.step(b, S0)
    torch.testing.assert_close(out.weights, w)
    torch.testing.assert_close(
        out.loss, (w * F.cross_entropy(logits, b.y, reduction="none")).mean()
    )


def test_cicw_kl_per_sample_loss_is_hard_bootstrapping():
    m = build_method("cicw", CTX, net, burnin_steps=0, anneal_steps=0, cls_gamma=0.2)
    b = batch()
    out = m.step(b, S0)
    logp = net()(b.x).log_softmax(1).detach()
    beta = math.exp(-0.2)
    pred = logp.argmax(1)
    ref = -(beta * logp[torch.arange(12), b.y] + (1 - beta) * logp[torch.arange(12), pred])
    torch.testing.assert_close(out.per_sample_loss, ref)
    torch.testing.assert_close(out.weights, ciw_weights(ref, lam=0.1, alpha=0.1))


def test_class_reweighting_with_any_loss_uses_that_loss():
    gce = losses.get("gce", q=0.7)
    m = build_method("standard", CTX, net, loss="gce", cls_div="l1", cls_gamma=0.5)
    b = batch()
    out = m.step(b, S0)
    logits = net()(b.x).detach()
    per_class = torch.stack(
        [gce(logits, torch.full((12,), k), reduction="none") for k in range(K)], 1
    )
    kstar = per_class.argmin(1)
    ly = per_class[torch.arange(12), b.y]
    lk = per_class[torch.arange(12), kstar]
    torch.testing.assert_close(out.per_sample_loss, 0.75 * ly + 0.25 * lk)


def test_mixed_loss_for_soft_and_hard_only_losses():
    mb = MixedBatch(
        x=torch.zeros(2, 5), labels=torch.tensor([[0, 2], [1, 1]]),
        coefs=torch.tensor([[0.3, 0.7], [0.4, 0.6]]), index=torch.tensor([1, 0]),
        lam=torch.tensor([0.3, 0.4]),
    )  # fmt: skip
    logits = torch.randn(2, K, generator=torch.Generator().manual_seed(3))
    for name in ("ce", "gce", "bootstrap_hard", "nce+rce"):
        loss = losses.get(name)
        m = StandardMethod(net(), loss, num_classes=K)
        ref = (
            0.3 * loss(logits[:1], torch.tensor([0]), reduction="none")[0]
            + 0.7 * loss(logits[:1], torch.tensor([2]), reduction="none")[0]
        )
        assert m.mixed_loss(logits, mb)[0].item() == pytest.approx(ref.item(), rel=1e-5)


def test_mixup_returns_clean_logits_and_is_seeded():
    b = batch()
    outs = [build_method("mixup", CTX, net).step(b, S0) for _ in range(2)]
    torch.testing.assert_close(outs[0].loss, outs[1].loss)  # same ctx.seed -> same draws
    torch.testing.assert_close(outs[0].logits, net()(b.x).detach())
    torch.testing.assert_close(
        outs[0].per_sample_loss, F.cross_entropy(net()(b.x), b.y, reduction="none").detach()
    )
    fast = build_method("mixup", CTX, net, clean_forward=False).step(b, S0)
    assert not torch.allclose(fast.logits, outs[0].logits)
    other = build_method("mixup", MethodContext(K, 64, 2, 4, seed=8), net).step(b, S0)
    assert not torch.allclose(other.loss, outs[0].loss)


def test_weighted_mixup_falls_back_during_burnin():
    b = batch()
    ls = build_method("ciw-m", CTX, net, burnin_steps=10)  # label_smoothing_w -> no mixup
    out = ls.step(b, S5)
    torch.testing.assert_close(out.loss, F.cross_entropy(net()(b.x), b.y))
    sw = build_method("cicw-m", CTX, net, burnin_steps=10)  # others -> vanilla mixup
    out = sw.step(b, S5)
    assert out.weights is None
    assert not torch.allclose(out.loss, F.cross_entropy(net()(b.x), b.y))


def test_guided_mixup_reports_clean_batch_weights():
    b = batch()
    m = build_method("cicw-m", CTX, net, burnin_steps=0)
    out = m.step(b, S5)
    ref = build_method("cicw", CTX, net, burnin_steps=0, cls_gamma=0.01, lam=2.5).step(b, S5)
    torch.testing.assert_close(out.per_sample_loss, ref.per_sample_loss)
    torch.testing.assert_close(out.weights, ref.weights)


def test_cicw_on_mixed_labels_solves_the_soft_label_problem():
    from noisylabels.weighting import MixedBatch, soft_class_targets

    m = build_method("cicw-m", CTX, net, burnin_steps=0, cls_gamma=0.1)
    logits = net()(batch().x)
    n = logits.shape[0]
    labels = torch.stack([torch.arange(n) % K, (torch.arange(n) + 1) % K], dim=1)
    lam = torch.linspace(0.1, 0.9, n)
    mb = MixedBatch(logits, labels, torch.stack([lam, 1 - lam], 1), torch.arange(n), lam)
    costs = -logits.log_softmax(1)
    v = soft_class_targets(costs.detach(), mb.dense(K).double(), 0.1, "kl").float()
    got = m.mixed_loss(logits, mb, class_rw=True)
    torch.testing.assert_close(got, (v * costs).sum(1))
    # never above mixing the two one-hot solutions (a feasible point of the same problem)
    mixed = sum(
        mb.coefs[:, j : j + 1] * m.class_reweighting.targets(costs.detach(), labels[:, j])
        for j in range(2)
    )
    assert (got <= (mixed * costs).sum(1) + 1e-6).all()


def test_mixed_batch_is_not_class_reweighted_without_recompute_weights():
    # official: without dcl_w_mixup the mixed batch's loss is the plain mean cross entropy
    b = batch()
    m = build_method("cicw-m", CTX, net, burnin_steps=0, recompute_weights=False)
    seen = []
    orig = m.mixed_loss
    m.mixed_loss = lambda logits, mb, class_rw=False: (
        seen.append(class_rw) or orig(logits, mb, class_rw)
    )
    m.step(b, S5)
    assert seen == [False]
