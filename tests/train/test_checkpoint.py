"""Checkpoints and resume: a run killed after epoch k and resumed ends with the same record."""

import json

import pytest
import torch

from noisylabels.errors import UsageError
from noisylabels.train import Callback, TrainConfig, run
from noisylabels.train.checkpoint import Checkpoint

BASE = TrainConfig(dataset="digits", model="mlp", epochs=4, batch_size=128, lr=0.05,
                   noise="symmetric:0.4", device="cpu")  # fmt: skip


class Killed(Exception):
    pass


class KillAfter(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, run, row):
        if run.epoch == self.epoch:
            raise Killed


def _metrics(rec):
    rec = json.loads(json.dumps(rec))
    for r in rec["epochs"]:
        r.pop("time_s"), r.pop("eval_time_s")
    for k in ("train_time_s", "eval_time_s", "inference_ms_per_1000"):
        rec["final"].pop(k)
    for k in ("wall_time_s", "started_at"):
        rec.pop(k)
    return rec


@pytest.mark.parametrize(
    ("method", "params", "extra"),
    [
        ("ce", {}, {}),
        ("ciw", {"lam": 0.1}, {"test_eval": "selected"}),
        ("dynamic-mixup", {}, {}),  # mixture fits, loss memory, its own generators
        ("coteaching", {}, {}),  # two networks, forget-rate schedule
        ("cicw-m", {"lam": 2.5, "cls_div": "kl", "cls_gamma": 0.01}, {}),
        ("confidence", {}, {}),
    ],
)
def test_killed_and_resumed_run_has_the_uninterrupted_record(tmp_path, method, params, extra):
    cfg = BASE.replace(method=method, method_params=params, **extra)
    whole = run(cfg)
    with pytest.raises(Killed):
        run(cfg, callbacks=[Checkpoint(tmp_path, every=1), KillAfter(2)])
    resumed = run(cfg, resume=tmp_path, callbacks=[Checkpoint(tmp_path, every=2)])
    assert _metrics(resumed) == _metrics(whole)


def test_checkpoint_every_n_epochs(tmp_path):
    saved = []

    class Spy(Callback):
        def on_epoch_end(self, run, row):
            saved.append((run.epoch, (tmp_path / "checkpoint.pt").stat().st_mtime_ns
                          if (tmp_path / "checkpoint.pt").exists() else None))  # fmt: skip

    run(BASE.replace(epochs=3), callbacks=[Checkpoint(tmp_path, every=2), Spy()])
    assert saved[0][1] is None and saved[1][1] is not None  # first at epoch 2
    assert saved[2][1] != saved[1][1]  # and after the last epoch
    ck = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ck["epoch"] == 3 and len(ck["rows"]) == 3


def test_resume_with_another_config_is_a_usage_error(tmp_path):
    run(BASE.replace(epochs=1), callbacks=[Checkpoint(tmp_path)])
    with pytest.raises(UsageError, match="lr"):
        run(BASE.replace(epochs=1, lr=0.1), resume=tmp_path)


def test_resume_from_nothing_or_garbage_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no checkpoint"):
        run(BASE, resume=tmp_path / "absent")
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UsageError, match="cannot read checkpoint"):
        run(BASE, resume=tmp_path)


def test_checkpoint_interval_must_be_positive(tmp_path):
    with pytest.raises(UsageError, match=">= 1"):
        Checkpoint(tmp_path, every=0)
