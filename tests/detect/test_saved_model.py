"""Saving a trained network and reloading it to identical predictions."""

import csv
import json

import pytest
import torch

import noisylabels
from noisylabels.cli import main
from noisylabels.data import load_dataset
from noisylabels.errors import UsageError
from noisylabels.models.saved import SaveModel, load_model, predict_saved, read_model_info
from noisylabels.train import Callback, TrainConfig, run


class _Grab(Callback):
    def on_train_end(self, run, record):
        self.net, self.norm = run.method.net, run.norm


@pytest.mark.parametrize("dataset", ["digits", "moons"])
def test_saved_model_reloads_to_identical_predictions(tmp_path, dataset):
    grab = _Grab()
    cfg = TrainConfig(dataset=dataset, noise="symmetric:0.2", epochs=2, device="cpu")
    rec = run(cfg, callbacks=[SaveModel(tmp_path / "m"), grab])
    assert rec["saved_model"] == str(tmp_path / "m")
    data = load_dataset(dataset)
    with torch.no_grad():
        grab.net.eval()
        expected = grab.net(grab.norm(data.x_test)).softmax(1)
    net = noisylabels.load_model(tmp_path / "m")
    assert not net.training and noisylabels.models.load_model is load_model
    got = predict_saved(tmp_path / "m", data.x_test)
    assert torch.equal(got.argmax(1), expected.argmax(1))
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
    meta = read_model_info(tmp_path / "m")
    assert meta["classes"] == list(data.classes) and meta["config"]["epochs"] == 2


def test_weights_read_back_without_pickled_code(tmp_path, monkeypatch):
    import noisylabels.models.saved as saved

    monkeypatch.setattr(saved, "_have_safetensors", lambda: False)
    run(TrainConfig(dataset="moons", epochs=1, device="cpu"), callbacks=[SaveModel(tmp_path)])
    assert (tmp_path / "weights.pt").exists()
    calls = []
    real = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(k) or real(*a, **k))
    load_model(tmp_path)
    assert calls and calls[0]["weights_only"] is True


def test_not_a_model_folder_is_one_line_error(tmp_path):
    with pytest.raises(UsageError, match="not a saved model"):
        load_model(tmp_path)


def test_train_save_model_then_predict_cli(tmp_path, capsys):
    m = tmp_path / "model"
    assert main(["train", "--dataset", "digits", "--epochs", "2", "--device", "cpu", "--quiet",
                 "--out", str(tmp_path / "runs"), "--save-model", str(m)]) == 0  # fmt: skip
    rec = json.loads(next((tmp_path / "runs").glob("*/record.json")).read_text())
    out = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(m), "--dataset", "digits", "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == rec["data"]["num_test"]
    acc = sum(r["predicted_label"] == r["label"] for r in rows) / len(rows)
    # The saved network is the last epoch's: its test accuracy is the record's last one.
    assert acc == pytest.approx(rec["final"]["test_acc_last"], abs=1e-6)
    capsys.readouterr()
    assert main(["predict", "--model", str(m), "--dataset", "moons", "--out", str(out)]) == 2
    assert "do not fit the saved model" in capsys.readouterr().err
