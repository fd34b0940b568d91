import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from noisylabels.methods import DynamicMixupMethod
from noisylabels.methods.base import Batch, StepState

K, N = 3, 48


def _net():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, K))


def _data():
    g = torch.Generator().manual_seed(1)
    return torch.randn(N, 4, generator=g), torch.randint(0, K, (N,), generator=g)


def _epoch(m, x, y, epoch, bs=16):
    m.on_epoch_start(StepState(epoch, epoch * 3, 5, 3))
    outs = []
    for i in range(N // bs):
        idx = torch.arange(i * bs, (i + 1) * bs)
        outs.append(m.step(Batch(x[idx], y[idx], idx), StepState(epoch, epoch * 3 + i, 5, 3)))
    m.on_epoch_end(StepState(epoch, epoch * 3 + 2, 5, 3))
    return outs


def test_warmup_records_losses_then_fits():
    x, y = _data()
    m = DynamicMixupMethod(_net(), num_classes=K, num_train=N, warmup_epochs=2)
    outs = _epoch(m, x, y, 0)
    assert all(o.weights is None for o in outs) and m.mixture is None  # fit after epoch 1 only
    with torch.no_grad():
        ce = F.cross_entropy(m.net(x), y, reduction="none")
    torch.testing.assert_close(m.loss_memory[:16], ce[:16])  # stored by dataset index
    _epoch(m, x, y, 1)
    assert m.mixture is not None and m.bootstrapping(StepState(2, 6, 5, 3))
    outs = _epoch(m, x, y, 2)
    assert all(o.weights is not None and o.weights.shape == (16,) for o in outs)


def test_bootstrapped_loss_matches_the_formula(monkeypatch):
    x, y = _data()
    m = DynamicMixupMethod(_net(), num_classes=K, num_train=N, warmup_epochs=1, reg_term=0.5)
    _epoch(m, x, y, 0)
    perm_gen = torch.Generator().manual_seed(5)
    monkeypatch.setattr(m, "_gen", lambda device: perm_gen)
    monkeypatch.setattr(m, "_draw_lam", lambda device: torch.tensor(0.7))
    idx = torch.arange(16)
    out = m.step(Batch(x[idx], y[idx], idx), StepState(1, 3, 5, 3))

    perm = torch.randperm(16, generator=torch.Generator().manual_seed(5))
    net = m.net
    with torch.no_grad():
        logits0 = net(x[idx])
        p_noisy = m.mixture.noisy_probability(F.cross_entropy(logits0, y[idx], reduction="none"))
        pred = logits0.argmax(1)
        logits_m = net(0.7 * x[idx] + 0.3 * x[idx][perm])
    ce = lambda t: F.cross_entropy(logits_m, t, reduction="none")  # noqa: E731
    b1, b2 = p_noisy, p_noisy[perm]
    ref = 0.7 * ((1 - b1) * ce(y[idx]) + b1 * ce(pred)) + 0.3 * (
        (1 - b2) * ce(y[idx][perm]) + b2 * ce(pred[perm])
    )
    mean_p = logits_m.softmax(1).mean(0)
    reg = sum((1 / K) * math.log((1 / K) / p) for p in mean_p.tolist())
    assert out.loss.item() == pytest.approx(ref.mean().item() + 0.5 * reg, rel=1e-5)
    torch.testing.assert_close(out.weights, 1 - p_noisy)


@pytest.fixture
def float64_default():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def test_runs_with_float64_default_dtype(float64_default):
    x, y = _data()
    m = DynamicMixupMethod(_net(), num_classes=K, num_train=N, warmup_epochs=1)
    assert m.loss_memory.dtype == torch.float32
    _epoch(m, x, y, 0)
    outs = _epoch(m, x, y, 1)
    assert m.mixture is not None and all(torch.isfinite(o.loss) for o in outs)
