import math

import pytest
import torch
from torch import nn

from noisylabels import losses
from noisylabels.errors import UsageError
from noisylabels.methods import METHODS, build_method, method_names
from noisylabels.methods.base import Batch, MethodContext, StepState

K = 4
CTX = MethodContext(
    num_classes=K, num_train=32, num_epochs=4, steps_per_epoch=2, noise_rate=0.25, seed=0
)


_built = [0]


def make_mlp():
    """A fresh MLP; a new init seed per call (co-teaching's nets must differ), global RNG kept."""
    _built[0] += 1
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_built[0])
        return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, K))


def _batch(seed=0, n=16):
    g = torch.Generator().manual_seed(seed)
    return Batch(
        torch.randn(n, 6, generator=g), torch.randint(0, K, (n,), generator=g), torch.arange(n)
    )


# Skip warm-ups so one step exercises the full method.
ACTIVE = {
    "ciw": {"burnin_steps": 0},
    "ciw-m": {"burnin_steps": 0},
    "cicw": {"burnin_steps": 0},
    "cicw-m": {"burnin_steps": 0},
    "dynamic-mixup": {"warmup_epochs": 1},
}


@pytest.mark.parametrize("name", method_names())
def test_every_method_runs_one_step_and_backprops(name):
    method = build_method(name, CTX, make_mlp, **ACTIVE.get(name, {}))
    state = StepState(epoch=1, step=2, num_epochs=4, steps_per_epoch=2)
    if name == "dynamic-mixup":  # bootstrapping needs a fitted mixture: one epoch first
        method.on_epoch_start(StepState(0, 0, 4, 2))
        method.step(_batch(1, 32), StepState(0, 0, 4, 2))
        method.on_epoch_end(StepState(0, 1, 4, 2))
        assert method.bootstrapping(StepState(2, 4, 4, 2))
        state = StepState(epoch=2, step=4, num_epochs=4, steps_per_epoch=2)
    batch = _batch()
    out = method.step(batch, state)
    assert out.loss.dim() == 0 and math.isfinite(out.loss.item())
    assert out.logits.shape == (16, K) and not out.logits.requires_grad
    assert out.per_sample_loss.shape == (16,) and not out.per_sample_loss.requires_grad
    assert out.weights is None or (out.weights.shape == (16,) and not out.weights.requires_grad)
    assert all(isinstance(v, float) for v in out.extras.values())
    out.loss.backward()
    for net in method.networks:
        grads = [p.grad for p in net.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads), name
        assert any(g.abs().sum() > 0 for g in grads), name
    hp = method.hparams()
    assert hp["method"] == name or name in losses.names()
    assert "loss" in hp


def test_names_cover_the_documented_methods():
    for name in ("ce", "gce", "nfl+rce", "bitempered", "confidence", "ciw", "cicw", "cicw-m",
                 "mixup", "dynamic-mixup", "coteaching"):  # fmt: skip
        assert name in method_names()
    assert set(METHODS.names()) <= set(method_names())


def test_any_loss_with_any_weighting():
    m = build_method("ciw", CTX, make_mlp, loss="gce", q=0.5, lam=0.5)
    hp = m.hparams()
    assert (hp["loss"], hp["q"], hp["lam"], hp["weighting"]) == ("gce", 0.5, 0.5, "ciw")
    m2 = build_method("standard", CTX, make_mlp, loss="gce", weighting="ciw")
    assert m2.hparams()["weighting"] == "ciw" and m2.hparams()["loss"] == "gce"
    m3 = build_method("nce+rce", CTX, make_mlp, alpha=2.0, beta=0.5, weighting="confidence")
    assert m3.hparams()["tau"] == 0.6 and m3.hparams()["alpha"] == 2.0
    m4 = build_method(
        "standard", CTX, make_mlp, loss="bootstrap_hard", weighting="ciw", cls_div="l2",
        mixup="sample_w", burnin_steps=0,
    )  # fmt: skip
    out = m4.step(_batch(), StepState(0, 0, 4, 2))
    out.loss.backward()
    assert math.isfinite(out.loss.item())


def test_defaults_resolve_from_the_run():
    m = build_method("ciw", CTX, make_mlp)  # 4 epochs x 2 steps = 8 steps
    hp = m.hparams()
    assert hp["burnin_steps"] == round(0.08 * 8) and hp["anneal_steps"] == round(0.06 * 8)
    assert build_method("ciw", CTX, make_mlp, burnin_epochs=1.5).hparams()["burnin_steps"] == 3
    ct = build_method("coteaching", CTX, make_mlp).hparams()
    assert ct["forget_rate"] == 0.25 and ct["num_gradual"] == 4  # clamped to the run's epochs
    dm = build_method("dynamic-mixup", CTX, make_mlp).hparams()
    assert dm["warmup_epochs"] == 2 and dm["mixup_alpha"] == 32.0
    cm = build_method("cicw-m", CTX, make_mlp).hparams()
    assert (cm["lam"], cm["cls_gamma"], cm["mixup"], cm["recompute_weights"]) == (
        2.5, 0.01, "sample_weight_w", True,
    )  # fmt: skip
    hard = build_method("confidence", CTX, make_mlp, mode="hard").hparams()
    assert hard["warmup_epochs"] == 1


def test_string_values_from_the_command_line_are_coerced():
    m = build_method("ciw", CTX, make_mlp, lam="0.5", burnin_steps="3", loss="gce", q=0.7)
    assert m.hparams()["lam"] == 0.5 and m.hparams()["burnin_steps"] == 3


@pytest.mark.parametrize(
    "name,params,match",
    [
        ("ce", {"tau": 0.5}, "tau"),
        ("ciw", {"lamda": 0.5}, "lamda"),
        ("ce", {"q": 0.5}, "q"),
        ("gce", {"loss": "ce"}, "already a loss"),
        ("ciw", {"burnin_steps": 1, "burnin_epochs": 1}, "not both"),
        ("dynamic-mixup", {"loss": "gce"}, "loss"),
        ("standard", {"mixup": "sample_w"}, "weighting"),
        ("standard", {"weighting": "magic"}, "magic"),
        ("ciw", {"lam": "big"}, "lam"),
        ("nosuch", {}, "unknown method"),
        ("ce", {"reduction": "sum"}, "reduction"),
    ],
)
def test_bad_parameters_are_one_line_errors(name, params, match):
    with pytest.raises(UsageError, match=match) as e:
        build_method(name, CTX, make_mlp, **params)
    assert "\n" not in str(e.value)


def test_coteaching_needs_a_forget_rate():
    ctx = MethodContext(num_classes=K, num_train=32, num_epochs=4, steps_per_epoch=2)
    with pytest.raises(UsageError, match="forget_rate"):
        build_method("coteaching", ctx, make_mlp)
    m = build_method("coteaching", ctx, make_mlp, forget_rate=0.2, num_gradual=2)
    assert len(m.networks) == 2
