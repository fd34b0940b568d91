"""Training with batch_noise (the student report's code's per-batch noise) and cosine-epochs."""

from __future__ import annotations

import math

import pytest
import torch

from noisylabels.errors import UsageError
from noisylabels.noise.batch import ReseededBatchNoise
from noisylabels.train import TrainConfig, run
from noisylabels.train.callbacks import Callback
from noisylabels.train.check import check_config


class _Batches(Callback):
    def __init__(self):
        self.seen = []

    def on_batch_end(self, run, batch, out, state):
        self.seen.append((state.epoch, batch.index.clone(), batch.y.clone(),
                          run.train.clean[batch.index].clone()))
        self.val_clean = bool(torch.equal(run.val.y, run.val.clean))


def _run(mode: str, noise: str = "uniform:0.4", epochs: int = 3):
    cb = _Batches()
    cfg = TrainConfig(dataset="digits", noise=noise, batch_noise=mode, noise_seed=10,
                      epochs=epochs, batch_size=200, val_fraction=0.2)
    return run(cfg, callbacks=[cb]), cb


def test_every_batch_is_corrupted_at_the_same_positions():
    rec, cb = _run("reseeded-repeat-order")
    ref = ReseededBatchNoise("uniform", 0.4, num_classes=10, seed=10)
    masks = set()
    for _, _, y, clean in cb.seen:
        torch.testing.assert_close(y, ref(clean))
        if len(y) == 200:
            masks.add(tuple(ref.draws(200)[0].tolist()))
    assert len(masks) == 1
    assert cb.val_clean  # validation labels stay clean
    assert rec["noise"]["sampling"] == "batch_noise reseeded-repeat-order"
    assert 0.3 < rec["noise"]["realised_rate"] < 0.42  # 0.4 * 9/10 up to rounding per batch
    assert rec["epochs"][-1]["memorization"] is None


def test_repeat_order_repeats_the_second_epochs_order():
    _, cb = _run("reseeded-repeat-order")
    order = {e: torch.cat([i for ep, i, _, _ in cb.seen if ep == e]) for e in range(3)}
    assert torch.equal(order[1], order[2]) and not torch.equal(order[0], order[1])
    _, cb = _run("reseeded")
    order = {e: torch.cat([i for ep, i, _, _ in cb.seen if ep == e]) for e in range(3)}
    assert not torch.equal(order[1], order[2])


def test_off_keeps_one_noisy_label_per_sample():
    _, cb = _run("off")
    assert not cb.val_clean  # the usual noisy validation split
    by_sample = {}
    for _, idx, y, _ in cb.seen:
        for i, label in zip(idx.tolist(), y.tolist(), strict=True):
            assert by_sample.setdefault(i, label) == label


def test_cosine_epochs_schedule():
    cfg = TrainConfig(dataset="moons", noise="clean", epochs=4, lr=0.1,
                      schedule="cosine-epochs", t_max_epochs=3)
    lrs = [e["lr"] for e in run(cfg)["epochs"]]
    want = [0.1 * 0.5 * (1 + math.cos(math.pi * e / 3)) for e in range(4)]
    assert lrs == pytest.approx(want, abs=1e-12)


def test_checks_before_training():
    with pytest.raises(UsageError, match="not 'pairflip'"):
        check_config(TrainConfig(dataset="digits", noise="pairflip:0.2", batch_noise="reseeded"))
    with pytest.raises(UsageError, match="class map"):
        check_config(TrainConfig(dataset="digits", noise="asymmetric:0.2",
                                 batch_noise="reseeded"))
    check_config(TrainConfig(dataset="cifar10", noise="asymmetric:0.9", batch_noise="reseeded"))
