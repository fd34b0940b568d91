"""The student report's code's losses against an independent port of that code's arithmetic.

The references below restate, in float64 NumPy, what the report's notebook computes for one
batch (its ``APLLoss.nce``, ``.rce``, ``.nfl`` and ``compute_sample_weights`` with
``nn.CrossEntropyLoss``): batch-level scalars, not per-sample losses, so they check both the
formulas and that our per-sample losses average to the notebook's batch loss. Gradients are
checked against a torch port of the same batch-level expressions.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from noisylabels import losses
from noisylabels.errors import UsageError
from noisylabels.losses.report_code import (
    report_ce_over_entropy_loss,
    report_ce_over_entropy_plus_ce_loss,
    report_dynamic_weight_ce_loss,
    report_dynamic_weights,
    report_focal_loss,
    report_focal_plus_ce_loss,
)

EPS = 1e-8


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def nb_nce(x: np.ndarray, y: np.ndarray) -> float:
    """The notebook's ``nce``: mean over the batch of CE / entropy, 1e-8 inside the logs."""
    p = _softmax(x)
    onehot = np.eye(x.shape[1])[y]
    ce = -(onehot * np.log(p + EPS)).sum(1)
    ent = -(p * np.log(p + EPS)).sum(1)
    return float(np.mean(ce / ent))


def nb_rce(x: np.ndarray, y: np.ndarray) -> float:
    """The notebook's ``rce``: the batch-mean cross entropy with 1e-8 inside the log."""
    p = _softmax(x)
    return float(np.mean(-np.log(p[np.arange(len(y)), y] + EPS)))


def nb_nfl(x: np.ndarray, y: np.ndarray, gamma: float = 0.5) -> float:
    """The notebook's ``nfl``: batch mean of -(1 - p_y)^gamma log p_y, no normalisation."""
    p = _softmax(x)[np.arange(len(y)), y]
    return float(np.mean(-((1 - p) ** gamma) * np.log(p)))


def nb_dynamic(x: np.ndarray, y: np.ndarray, threshold: float = 0.6) -> float:
    """The notebook's dynamic-weight step: (CrossEntropyLoss()(x, y) * weights).mean()."""
    p = _softmax(x)
    ce_mean = float(np.mean(-np.log(p[np.arange(len(y)), y])))
    conf = p.max(1)
    w = np.where(conf < threshold, 1.0, 1.0 / conf)
    return float(np.mean(ce_mean * w))


def _batch(seed: int, b: int = 64, k: int = 10, scale: float = 3.0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, k, generator=g, dtype=torch.float64) * scale
    y = torch.randint(0, k, (b,), generator=g)
    return x, y


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("scale", [0.1, 3.0, 12.0])
def test_batch_means_equal_the_notebook_losses(seed, scale):
    x, y = _batch(seed, scale=scale)
    xn, yn = x.numpy(), y.numpy()
    got = {
        "nce": report_ce_over_entropy_loss(x, y),
        "nfl": report_focal_loss(x, y, gamma=0.5),
        "apl_nce": report_ce_over_entropy_plus_ce_loss(x, y, alpha=1.0, beta=1.0),
        "apl_nfl": report_focal_plus_ce_loss(x, y, alpha=1.0, beta=1.0, gamma=0.5),
        "apl_nce_scaled": report_ce_over_entropy_plus_ce_loss(x, y, alpha=2.0, beta=0.5),
        "dynamic": report_dynamic_weight_ce_loss(x, y, threshold=0.6),
    }
    want = {
        "nce": nb_nce(xn, yn),
        "nfl": nb_nfl(xn, yn),
        "apl_nce": nb_nce(xn, yn) + nb_rce(xn, yn),
        "apl_nfl": nb_nfl(xn, yn) + nb_rce(xn, yn),
        "apl_nce_scaled": 2.0 * nb_nce(xn, yn) + 0.5 * nb_rce(xn, yn),
        "dynamic": nb_dynamic(xn, yn),
    }
    # CE / H is ill-conditioned for confident predictions (H near 0, even below it: see the
    # docstring), so the comparison is relative.
    for key, value in got.items():
        assert value.item() == pytest.approx(want[key], rel=1e-6, abs=1e-12), key


def _nb_torch(name: str, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # A torch port of the notebook's batch-level expressions (for gradients).
    p = F.softmax(x, dim=1)
    onehot = F.one_hot(y, num_classes=x.size(1)).to(x.dtype)
    ce = -torch.sum(onehot * torch.log(p + EPS), dim=1)
    if name == "report-ce-over-entropy-plus-ce":
        ent = -torch.sum(p * torch.log(p + EPS), dim=1)
        return torch.mean(ce / ent) + torch.mean(ce)
    if name == "report-focal-plus-ce":
        logp = F.log_softmax(x, dim=1)
        fl = -torch.sum((1 - torch.exp(logp)) ** 0.5 * logp * onehot, dim=1)
        return torch.mean(fl) + torch.mean(ce)
    conf, _ = torch.max(p, dim=1)
    w = torch.where(conf < 0.6, torch.tensor(1.0, dtype=x.dtype), 1.0 / conf)
    return (F.cross_entropy(x, y) * w).mean()


@pytest.mark.parametrize(
    "name", ["report-ce-over-entropy-plus-ce", "report-focal-plus-ce", "report-dynamic-weight-ce"]
)
def test_gradients_equal_the_notebook_losses(name):
    x, y = _batch(5, scale=4.0)
    a = x.clone().requires_grad_(True)
    losses.get(name)(a, y, reduction="none").mean().backward()
    b = x.clone().requires_grad_(True)
    _nb_torch(name, b, y).backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-9, atol=1e-12)


def test_dynamic_weight_is_one_factor_for_the_batch_and_not_detached():
    x, y = _batch(3, b=16, scale=5.0)
    w = report_dynamic_weights(x, 0.6)
    assert (w > 1).any() and (w == 1).any()
    per = report_dynamic_weight_ce_loss(x, y, reduction="none")
    ce = F.cross_entropy(x, y, reduction="none")
    torch.testing.assert_close(per, ce * w.mean())  # every sample: the same batch factor
    a = x.clone().requires_grad_(True)
    report_dynamic_weight_ce_loss(a, y).backward()
    b = x.clone().requires_grad_(True)
    (F.cross_entropy(b, y) * report_dynamic_weights(b, 0.6).detach().mean()).backward()
    assert not torch.allclose(a.grad, b.grad)  # the weights carry gradient


def test_not_the_apl_losses():
    x, y = _batch(7)
    assert not torch.allclose(
        losses.get("report-ce-over-entropy-plus-ce")(x, y), losses.get("nce+rce")(x, y)
    )
    assert not torch.allclose(
        losses.get("report-focal-plus-ce")(x, y), losses.get("nfl+rce")(x, y)
    )
    # the "NCE" part is unbounded, unlike NCE
    sharp = torch.tensor([[20.0, 0.0, 0.0]], dtype=torch.float64)
    assert report_ce_over_entropy_loss(sharp, torch.tensor([1])).item() > 1e3
    assert losses.get("nce")(sharp, torch.tensor([1])).item() <= 1.0


def test_entropy_with_the_eps_turns_negative_for_confident_predictions():
    # -sum p log(p + 1e-8) < 0 when p is one-hot to within 1e-8: CE / H flips sign there
    sharp = torch.tensor([[40.0, 0.0, 0.0]], dtype=torch.float64)
    assert report_ce_over_entropy_loss(sharp, torch.tensor([1])).item() < -1e6
    assert nb_nce(sharp.numpy(), np.array([1])) < -1e6


def test_uniform_prediction_values():
    x = torch.zeros(3, 4)
    y = torch.tensor([0, 1, 3])
    assert report_ce_over_entropy_loss(x, y).item() == pytest.approx(1.0, abs=1e-6)
    assert report_dynamic_weight_ce_loss(x, y).item() == pytest.approx(np.log(4), rel=1e-6)


def test_soft_targets_mix_the_per_label_losses():
    x, y = _batch(9, b=8, k=5)
    t = F.one_hot(y, 5).to(x.dtype)
    for name in losses.REPORT_CODE_LOSSES:
        loss = losses.get(name)
        torch.testing.assert_close(loss(x, t, reduction="none"), loss(x, y, reduction="none"))


def test_registered_and_checked():
    for name in ("report-ce-over-entropy", "report-focal", "report-ce-over-entropy-plus-ce",
                 "report-focal-plus-ce", "report-dynamic-weight-ce"):
        assert name in losses.names(pairs=False)
    with pytest.raises(UsageError, match="threshold"):
        losses.get("report-dynamic-weight-ce", threshold=0.0)
    with pytest.raises(UsageError, match="unknown hyperparameter"):
        losses.get("report-ce-over-entropy-plus-ce", gamma=0.5)
    with pytest.raises(UsageError, match="alpha"):
        losses.get("report-focal-plus-ce", alpha=-1.0)


def test_not_finite_at_extreme_logits_like_the_report_code():
    x = torch.full((2, 10), -1e4)
    x[:, 0] = 1e4
    x.requires_grad_()
    y = torch.tensor([0, 5])
    assert not torch.isfinite(report_ce_over_entropy_loss(x, y, reduction="none")).all()
    report_focal_loss(x, y, reduction="none").sum().backward()
    assert not torch.isfinite(x.grad).all()
