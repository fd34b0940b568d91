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
    with pytest.raises(UsageError, match="is a text file; expected a PyTorch file"):
        run(BASE, resume=tmp_path)


def _edited(tmp_path, change):
    run(BASE.replace(epochs=1), callbacks=[Checkpoint(tmp_path / "ck")])
    ck = torch.load(tmp_path / "ck" / "checkpoint.pt", weights_only=True)
    change(ck)
    torch.save(ck, tmp_path / "edited.pt")
    return tmp_path / "edited.pt"


def _narrow_first_matrix(ck):
    modules = ck["method"]["attrs"]["_modules"]["__dict__"][0][1]["attrs"]["_modules"]
    net = modules["__dict__"][0][1]["attrs"]
    stack = [net]
    while stack:  # the first 2-D parameter found in the network, one column less
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, torch.Tensor) and value.dim() == 2:
                    node[key] = value[:, 1:]
                    return
                stack.append(value)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, torch.Tensor) and value.dim() == 2:
                    node[i] = value[:, 1:]
                    return
                stack.append(value)
    raise AssertionError("no weight matrix in the checkpoint")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda ck: ck.pop("optimizer"), "no 'optimizer'"),
        (lambda ck: ck.update(epoch=7), "epoch 7 and 1 epoch rows, for a 1-epoch run"),
        (lambda ck: ck.update(sample_weights=torch.ones(3)), r"\(3,\) sample weights"),
        (_narrow_first_matrix, "a network weight of shape"),
        (
            lambda ck: ck.update(method={"__obj__": "noisylabels.outputs:os.system", "attrs": {}}),
            "not a noisylabels class",
        ),
        (
            lambda ck: ck.update(method={"__obj__": "builtins:eval", "attrs": {}}),
            "only noisylabels classes are rebuilt",
        ),
    ],
    ids=["missing-key", "epoch-beyond-run", "sample-weights", "weight-shape", "function", "eval"],
)
def test_an_edited_checkpoint_is_refused(tmp_path, change, message):
    path = _edited(tmp_path, change)
    with pytest.raises(UsageError, match=f"is damaged or was edited .*{message}"):
        run(BASE.replace(epochs=1), resume=path)


def test_a_pickle_that_runs_code_is_refused_by_our_message(tmp_path):
    import os
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    (tmp_path / "checkpoint.pt").write_bytes(pickle.dumps({"format": 1, "x": Evil()}, 2))
    with pytest.raises(UsageError) as err:
        run(BASE.replace(epochs=1), resume=tmp_path)
    assert "refused because loading it could run code" in str(err.value)
    assert "weights_only" not in str(err.value)
    assert not (tmp_path / "pwned").exists()


def test_checkpoint_interval_must_be_positive(tmp_path):
    with pytest.raises(UsageError, match=">= 1"):
        Checkpoint(tmp_path, every=0)
