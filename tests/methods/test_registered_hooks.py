"""A mixup or selection registered from user code changes the training step through its hook."""

from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F

from noisylabels.errors import UsageError
from noisylabels.methods import MIXUPS, SELECTIONS, build_method
from noisylabels.methods.base import Batch, MethodContext, StepState
from noisylabels.methods.parts import MixupPart, SelectionPart
from noisylabels.train import TrainConfig, run
from noisylabels.weighting.mixup import MixedBatch

CTX = MethodContext(num_classes=3, num_train=64, num_epochs=2, steps_per_epoch=4)
STATE = StepState(epoch=0, step=0, num_epochs=2, steps_per_epoch=4)
CALLS = {"mix": 0, "select": 0}


class ScaledInputs:
    """Trains on ``scale * x`` with the labels unchanged (one component, coefficient 1)."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def mix(self, batch, state, generator):
        CALLS["mix"] += 1
        b = batch.x.shape[0]
        ones = torch.ones(b, 1, device=batch.x.device)
        return MixedBatch(batch.x * self.scale, batch.y[:, None], ones, torch.arange(b), ones[:, 0])

    def hparams(self):
        return {"scale": self.scale}


@MIXUPS.register("test-scaled-inputs")
@dataclass(frozen=True)
class ScaledInputsPart(MixupPart):
    scale: float = 0.0

    def build(self, ctx):
        return ScaledInputs(self.scale)


class FirstClass:
    """Keeps the samples labelled ``label``."""

    def __init__(self, label: int) -> None:
        self.label = label

    def select(self, losses, batch, state):
        CALLS["select"] += 1
        return batch.y == self.label


@SELECTIONS.register("test-one-class")
@dataclass(frozen=True)
class OneClassPart(SelectionPart):
    label: int = 0

    def build(self, ctx):
        return FirstClass(self.label)


@MIXUPS.register("test-no-hook")
@dataclass(frozen=True)
class NoHookPart(MixupPart):
    alpha: float = 1.0


def _batch():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(12, 5, generator=g)
    y = torch.tensor([0, 1, 2] * 4)
    return Batch(x, y, torch.arange(12))


def _net():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return torch.nn.Linear(5, 3)


def test_a_registered_mixup_is_what_the_step_trains_on():
    batch = _batch()
    m = build_method("ce", CTX, _net, mixup={"name": "test-scaled-inputs", "scale": "0.5"})
    out = m.step(batch, STATE)
    net = m.net
    expected = F.cross_entropy(net(0.5 * batch.x), batch.y)
    assert torch.allclose(out.loss, expected)
    assert not torch.allclose(out.loss, F.cross_entropy(net(batch.x), batch.y))
    # The logged logits are the clean batch's (clean forward), as for vanilla mixup.
    assert torch.allclose(out.logits, net(batch.x).detach())
    assert m.hparams()["mixup"] == "test-scaled-inputs" and m.hparams()["scale"] == 0.5


def test_a_registered_mixup_composes_with_a_weighting():
    batch = _batch()
    m = build_method(
        "ce", CTX, _net, mixup="test-scaled-inputs",
        weighting={"name": "confidence", "tau": 1.0},
    )  # fmt: skip
    out = m.step(batch, STATE)
    logits = m.net(0 * batch.x).detach()
    w = logits.softmax(1)[torch.arange(12), batch.y].clamp(max=1.0)  # min(1, p_y / tau)
    per = F.cross_entropy(m.net(0 * batch.x), batch.y, reduction="none")
    assert torch.allclose(out.loss, (w * per).mean())


def test_a_registered_selection_trains_on_the_samples_it_keeps():
    batch = _batch()
    m = build_method("ce", CTX, _net, selection={"name": "test-one-class", "label": 2})
    out = m.step(batch, STATE)
    keep = batch.y == 2
    expected = F.cross_entropy(m.net(batch.x[keep]), batch.y[keep])
    assert torch.allclose(out.loss, expected)
    assert out.weights.tolist() == keep.float().tolist()
    assert m.hparams()["selection"] == "test-one-class"


def test_registered_hooks_run_in_training():
    CALLS.update(mix=0, select=0)
    base = dict(dataset="moons", noise="symmetric:0.2", epochs=2, seed=0, batch_size=64)
    plain = run(TrainConfig(**base, method="ce"))
    mixed = run(TrainConfig(**base, method={"mixup": {"name": "test-scaled-inputs"}}))
    steps = mixed["data"]["num_train"] // 64 + bool(mixed["data"]["num_train"] % 64)
    assert CALLS["mix"] == 2 * steps
    assert mixed["method_hparams"]["mixup"] == "test-scaled-inputs"
    # Inputs scaled to 0: the network only learns its bias, so training loss differs from CE's.
    assert mixed["epochs"][-1]["train_loss"] != plain["epochs"][-1]["train_loss"]
    sel = run(TrainConfig(**base, method={"selection": {"name": "test-one-class"}}))
    assert CALLS["select"] == 2 * steps
    assert sel["method_hparams"]["selection"] == "test-one-class"


def test_a_part_without_a_hook_or_a_bad_combination_is_a_one_line_error():
    with pytest.raises(UsageError, match="NoHookPart has no training step: define build"):
        build_method("ce", CTX, _net, mixup="test-no-hook")
    with pytest.raises(UsageError, match="does not combine with"):
        build_method("ciw", CTX, _net, selection="test-one-class")
