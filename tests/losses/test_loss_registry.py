"""Every registered loss: construction by name, shapes, dtypes, numerics at extreme logits."""

import pytest
import torch

from noisylabels import losses as L
from noisylabels.errors import UsageError

# Every registry entry with default hyperparameters, a few pairs, and bi-tempered settings.
ALL = [(n, {}) for n in L.names(pairs=False)] + [
    ("nce+rce", {"alpha": 1.0, "beta": 1.0}),
    ("nfl+rce", {"gamma": 0.5}),
    ("ngce+mae", {"q": 0.1}),
    ("gce+nmae", {"q": 0.7}),
    ("fl+mae", {"gamma": 2.0}),
    ("bitempered", {"t1": 0.8, "t2": 2.0}),
    ("bitempered", {"t1": 0.5, "t2": 1.0}),
    ("bitempered", {"t1": 0.7, "t2": 0.5}),
    ("bitempered", {"t1": 1.0, "t2": 1.5, "label_smoothing": 0.1}),
    ("fl", {"detach_factor": True}),
    ("nfl", {"detach_factor": False, "gamma": 2.0}),
    ("bootstrap_soft", {"detach": True}),
]
IDS = [n + "".join(f"-{k}{v}" for k, v in hp.items()) for n, hp in ALL]


def test_names():
    base = L.names(pairs=False)
    for n in ("ce", "fl", "mae", "rce", "nce", "nfl", "gce", "ngce", "nmae", "sce"):
        assert n in base
    for n in ("label_smoothing", "bootstrap_soft", "bootstrap_hard", "apl", "bitempered"):
        assert n in base
    assert len(L.names()) == len(base) + 18
    assert "nce+rce" in L.names() and "ngce+nmae" in L.names()
    assert L.describe("gce") and L.describe("nce+mae")


@pytest.mark.parametrize("name,hp", ALL, ids=IDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
def test_shapes_dtype_and_reduction_override(name, hp, dtype):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 10, generator=g).to(dtype)
    y = torch.randint(0, 10, (8,), generator=g)
    loss = L.get(name, num_classes=10, **hp)
    assert isinstance(loss, L.LossModule)
    assert loss.kind in ("active", "passive", "other")
    none = loss(x, y, reduction="none")
    assert none.shape == (8,)
    # float32 for float32/bf16 logits, float64 for float64
    assert none.dtype == (torch.float64 if dtype == torch.float64 else torch.float32)
    torch.testing.assert_close(loss(x, y), none.mean())
    torch.testing.assert_close(loss(x, y, "sum"), none.sum())
    assert L.get(name, reduction="sum", **hp)(x, y).shape == ()
    torch.testing.assert_close(L.get(name, reduction="none", **hp)(x, y), none)
    if dtype == torch.bfloat16:  # same loss as the float32 computation on the rounded logits
        torch.testing.assert_close(none, loss(x.float(), y, "none"))


# The report-code losses reproduce code that divides by the prediction's entropy and
# differentiates (1 - p)^0.5 at p = 1: not finite there, by design
# (tests/losses/test_report_code.py).
FINITE = [(n, hp) for n, hp in ALL if n not in L.REPORT_CODE_LOSSES]


@pytest.mark.parametrize("name,hp", FINITE, ids=[i for i, (n, _) in zip(IDS, ALL, strict=True)
                                                 if n not in L.REPORT_CODE_LOSSES])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_finite_gradients_at_extreme_logits(name, hp, dtype):
    # one class ~1, the others ~0; true labels both on the confident class and off it
    x = torch.full((4, 10), -1e4)
    x[:, 0] = 1e4
    x[3] = torch.linspace(-1e4, 1e4, 10)
    x = x.to(dtype).requires_grad_()
    y = torch.tensor([0, 5, 9, 0])
    loss = L.get(name, **hp)
    out = loss(x, y, reduction="none")
    out.sum().backward()
    assert torch.isfinite(out).all(), out
    assert x.grad.dtype == dtype
    assert torch.isfinite(x.grad.float()).all(), x.grad
    if loss.is_bounded:  # bounded losses stay small where CE is ~2e4
        assert out.max().item() < 20.0
    elif name != "bitempered":  # (t2 > 1 heavy tails grow only logarithmically)
        assert out.max().item() > 100.0


def test_bounded_flags():
    bounded = {"mae", "rce", "nce", "nfl", "gce", "ngce", "nmae"}
    for n in L.names(pairs=False):
        if n not in ("apl", "bitempered"):
            assert L.get(n).is_bounded == (n in bounded), n
    assert L.get("ce").kind == "active" and L.get("rce").kind == "passive"
    assert L.get("bitempered", t1=0.8).is_bounded and not L.get("bitempered").is_bounded
    assert L.get("nce+rce").is_bounded and not L.get("ce+rce").is_bounded


def test_hparams_pass_through():
    assert L.get("gce", q=0.3).q == 0.3
    loss = L.get("nfl+rce", num_classes=10, alpha=10.0, beta=0.1, gamma=0.5)
    assert (loss.alpha, loss.beta, loss.active.gamma, loss.num_classes) == (10.0, 0.1, 0.5, 10)
    assert loss.hparams() == {
        "active": "nfl",
        "passive": "rce",
        "alpha": 10.0,
        "beta": 0.1,
        "gamma": 0.5,
        "detach_factor": True,
    }
    assert L.get("bitempered", t1=0.8, t2=1.2, num_iters=7).hparams()["num_iters"] == 7


def test_unknown_names_and_hparams():
    with pytest.raises(UsageError, match="choose one of: apl, bitempered"):
        L.get("nce_rce")
    with pytest.raises(UsageError, match="active-passive pair"):
        L.get("rce+nce")  # passive first
    with pytest.raises(UsageError, match="valid: q, reduction"):
        L.get("gce", gamma=2.0)
    with pytest.raises(UsageError, match="valid: alpha, beta, detach_factor, gamma"):
        L.get("nfl+mae", q=0.1)
    with pytest.raises(UsageError, match="already names its parts"):
        L.get("nce+mae", active="gce")
    with pytest.raises(UsageError, match="unknown active loss"):
        L.ActivePassiveLoss("rce", "mae")
    with pytest.raises(UsageError, match="passive part"):
        L.ActivePassiveLoss("nce", L.GCELoss())
    with pytest.raises(UsageError):
        L.get(None)


@pytest.mark.parametrize(
    "name,hp",
    [
        ("gce", {"q": 0.0}),
        ("gce", {"q": 1.5}),
        ("ngce", {"q": -1}),
        ("fl", {"gamma": -0.5}),
        ("nfl", {"gamma": float("nan")}),
        ("label_smoothing", {"eps": 1.2}),
        ("bootstrap_soft", {"beta": 1.1}),
        ("bootstrap_hard", {"beta": -0.1}),
        ("sce", {"alpha": -1.0}),
        ("nce+rce", {"beta": "x"}),
        ("ce", {"reduction": "avg"}),
    ],
)
def test_bad_hyperparameters(name, hp):
    with pytest.raises(UsageError):
        L.get(name, **hp)


def test_num_classes_is_checked():
    with pytest.raises(UsageError, match="num_classes=10"):
        L.get("nce+rce", num_classes=10)(torch.zeros(2, 5), torch.tensor([0, 1]))
    with pytest.raises(UsageError, match="num_classes"):
        L.get("ce", num_classes=1)
