"""The trainer's stages, callbacks and the dataset=/model= seams."""

import json

import pytest
import torch
from torch import nn

from noisylabels.data import load_dataset
from noisylabels.errors import UsageError
from noisylabels.train import Callback, EpochRow, TrainConfig, evaluate, fit, prepare, run

TINY = TrainConfig(dataset="moons", noise="symmetric:0.3", epochs=3, batch_size=64, lr=0.1)


def _metrics(rec):
    rec = json.loads(json.dumps(rec))
    for r in rec["epochs"]:
        r.pop("time_s"), r.pop("eval_time_s")
    fin = {k: v for k, v in rec["final"].items() if "time" not in k and "_ms_" not in k}
    return rec["epochs"], fin, rec["config"], rec["run_id"]


class Recorder(Callback):
    """Records the hook calls and what they saw."""

    def __init__(self):
        self.calls = []
        self.indices = []

    def on_train_start(self, run):
        self.calls.append(("start", run.epoch))
        self.loss = torch.full((len(run.train_positions),), float("nan"))

    def on_batch_end(self, run, batch, out, state):
        self.calls.append(("batch", state.epoch))
        assert not out.logits.requires_grad and not out.per_sample_loss.requires_grad
        self.indices.append(batch.index.clone())
        self.loss[batch.index] = out.per_sample_loss.float()
        # batch.y are the noisy labels of those dataset rows.
        assert torch.equal(batch.y, run.noisy_labels[run.train_positions[batch.index]])

    def on_epoch_end(self, run, row):
        assert isinstance(row, EpochRow) and row.epoch == run.epoch
        self.calls.append(("epoch", row.epoch))

    def on_train_end(self, run, record):
        self.calls.append(("end", record["final"]["selected_epoch"]))


def test_stages_give_the_same_record_as_run():
    state = prepare(TINY)
    fit(state)
    assert _metrics(evaluate(state)) == _metrics(run(TINY))


def test_callbacks_see_every_step_and_epoch_in_order():
    rec_cb = Recorder()
    rec = run(TINY, callbacks=[rec_cb])
    kinds = [c[0] for c in rec_cb.calls]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert [c[1] for c in rec_cb.calls if c[0] == "epoch"] == [1, 2, 3]
    n_train = rec["data"]["num_train"]
    steps = -(-n_train // TINY.batch_size)
    assert kinds.count("batch") == 3 * steps
    # Each epoch visits every training-split position once.
    first_epoch = torch.cat(rec_cb.indices[:steps]).sort().values
    assert torch.equal(first_epoch, torch.arange(n_train))
    assert not torch.isnan(rec_cb.loss).any()
    # Observing does not change the run.
    assert _metrics(rec) == _metrics(run(TINY))


def test_per_sample_loss_callback_separates_mislabeled_samples():
    class LastLoss(Callback):
        def on_train_start(self, run):
            self.loss = torch.zeros(len(run.train_positions))

        def on_batch_end(self, run, batch, out, state):
            self.loss[batch.index.cpu()] = out.per_sample_loss.float().cpu()

    cb = LastLoss()
    state = prepare(TINY.replace(epochs=6))
    fit(state, [cb])
    pos = state.train_positions
    mislabeled = state.noisy_labels[pos] != state.clean_labels[pos]
    assert cb.loss[mislabeled].mean() > cb.loss[~mislabeled].mean()


def test_non_callback_is_a_usage_error():
    with pytest.raises(UsageError, match="Callback"):
        run(TINY, callbacks=[print])


def test_dataset_object_replaces_the_configured_dataset():
    data = load_dataset("moons", n_train=300, n_test=200, seed=3)
    rec = run(TINY.replace(dataset="digits"), dataset=data)
    assert rec["config"]["dataset"] == "moons"
    assert rec["data"]["num_train"] + rec["data"]["num_val"] == 300
    assert rec["data"]["num_test"] == 200
    assert rec["data"]["source"] == data.source


def test_dataset_without_the_fields_is_a_usage_error():
    with pytest.raises(UsageError, match="lacks"):
        run(TINY, dataset=object())


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        return self.fc(x)


def _tiny():
    with torch.random.fork_rng(devices=[]):  # a test's own module init leaves global RNG alone
        torch.manual_seed(0)
        return Tiny()


def test_user_model_is_trained_and_recorded():
    model = _tiny()
    before = model.fc.weight.detach().clone()
    state = prepare(TINY, model=model)
    assert state.method.net is model
    fit(state)
    rec = evaluate(state)
    assert rec["data"]["model"] == "Tiny" and rec["config"]["model"] == "Tiny"
    assert not torch.equal(before, model.fc.weight.detach())


def test_user_model_second_network_starts_apart():
    model = _tiny()
    state = prepare(TINY.replace(method="coteaching"), model=model)
    a, b = state.method.networks
    assert a is model and type(b) is Tiny
    assert not torch.equal(a.fc.weight, b.fc.weight)


def test_model_must_be_a_module():
    with pytest.raises(UsageError, match="nn.Module"):
        run(TINY, model="mlp")


def test_evaluate_needs_a_finished_run():
    with pytest.raises(UsageError, match="finished"):
        evaluate(prepare(TINY))
