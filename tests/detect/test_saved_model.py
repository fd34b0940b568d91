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


@pytest.fixture(scope="module")
def saved_pt(tmp_path_factory):
    """A digits model saved with ``weights.pt`` (the format every install can read)."""
    import noisylabels.models.saved as saved

    d = tmp_path_factory.mktemp("saved") / "m"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(saved, "_have_safetensors", lambda: False)
        run(TrainConfig(dataset="digits", epochs=1, device="cpu"), callbacks=[SaveModel(d)])
    return d


def _tampered(src, dst, meta=None, state=None, raw=None):
    import shutil

    shutil.copytree(src, dst)
    if meta is not None:
        info = json.loads((src / "model.json").read_text())
        (dst / "model.json").write_text(json.dumps({**info, **meta}))
    if state is not None:
        weights = torch.load(src / "weights.pt", weights_only=True)
        torch.save(state(weights), dst / "weights.pt")
    if raw is not None:
        (dst / "weights.pt").write_bytes(raw)
    return dst


def _evil_pickle(path):
    import os
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {path}",))

    return pickle.dumps({"net.1.weight": Evil()}, protocol=2)


def _first(weights, change):
    key = next(iter(weights))
    return {**weights, key: change(weights[key])}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (dict(meta={"model": "seed-cnn"}), "the weights do not fit model 'seed-cnn'"),
        (dict(meta={"classes": list("abcde")}), "for input (1, 8, 8) and 5 classes"),
        (dict(meta={"classes": "abcdefghij"}), "classes is 'abcdefghij', expected a list"),
        (dict(meta={"classes": ["a"] * 10}), "expected distinct class names"),
        (dict(meta={"classes": [None] * 10}), "expected class names (strings)"),
        (dict(meta={"input_shape": [1, 8, 0]}), "input_shape is [1, 8, 0], expected sizes >= 1"),
        (dict(meta={"std": [0.0]}), "std is [0.0], expected numbers > 0"),
        (dict(meta={"mean": [1.0, 2.0]}), "mean is [1.0, 2.0], expected 1 finite number"),
        (dict(meta={"weights": "../x.pt"}), "weights is '../x.pt', expected weights.safetensors"),
        (dict(meta={"format": "other/1"}), "unknown format 'other/1'"),
        (dict(state=lambda w: _first(w, lambda t: t[..., :3])), "has shape"),
        (dict(state=lambda w: _first(w, lambda t: t * float("nan"))), "holds NaN or infinite"),
        (dict(state=lambda w: _first(w, lambda t: t.long())), "holds int64, the model float32"),
        (dict(state=lambda w: dict(list(w.items())[1:])), "it lacks 'net.1."),
        (dict(state=lambda w: {**w, "extra": torch.zeros(1)}), "it has 'extra', which the"),
        (dict(state=lambda w: list(w.values())), "is not a state dict (names -> tensors)"),
        (dict(raw=b"text, not weights"), "is a text file; expected a PyTorch file"),
        (dict(raw=b""), "is an empty file"),
    ],
    ids=["other-model", "class-count", "classes-string", "classes-dup", "classes-none",
         "zero-size", "zero-std", "mean-length", "weights-path", "format", "weight-shape",
         "nan-weight", "int-weight", "missing-weight", "extra-weight", "weights-list",
         "weights-text", "weights-empty"],
)
def test_a_tampered_model_folder_is_one_line_error(saved_pt, tmp_path, edit, message):
    folder = _tampered(saved_pt, tmp_path / "m", **edit)
    with pytest.raises(UsageError) as err:
        load_model(folder)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_weights_file_that_would_run_code_is_refused(saved_pt, tmp_path):
    folder = _tampered(saved_pt, tmp_path / "m", raw=_evil_pickle(tmp_path / "pwned"))
    with pytest.raises(UsageError, match="refused because loading it could run code"):
        noisylabels.load_model(folder)
    assert not (tmp_path / "pwned").exists()


def test_truncated_weights_and_broken_model_json(saved_pt, tmp_path):
    raw = (saved_pt / "weights.pt").read_bytes()
    folder = _tampered(saved_pt, tmp_path / "a", raw=raw[: len(raw) // 2])
    with pytest.raises(UsageError, match="weights.pt: truncated or corrupt"):
        load_model(folder)
    folder = _tampered(saved_pt, tmp_path / "b")
    (folder / "model.json").write_bytes(b"\xff\xfe{}")
    with pytest.raises(UsageError, match="model.json: not UTF-8 text"):
        load_model(folder)
    (folder / "model.json").write_text("[1, 2]")
    with pytest.raises(UsageError, match="expected a JSON object, got list"):
        load_model(folder)
    (folder / "model.json").unlink()
    (folder / "model.json").mkdir()
    with pytest.raises(UsageError, match="not a saved model"):
        load_model(folder)


def test_a_safetensors_header_that_lies_is_one_line_error(tmp_path):
    pytest.importorskip("safetensors")
    import struct

    d = tmp_path / "m"
    run(TrainConfig(dataset="digits", epochs=1, device="cpu"), callbacks=[SaveModel(d)])
    raw = (d / "weights.safetensors").read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    key = next(k for k in header if k != "__metadata__")
    header[key]["data_offsets"] = [0, 10**9]  # more bytes than the file holds
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    (d / "weights.safetensors").write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + n :])
    with pytest.raises(UsageError, match="cannot read weights file .*weights.safetensors"):
        load_model(d)
    (d / "weights.safetensors").write_bytes(struct.pack("<Q", 10**12) + raw[8:])
    with pytest.raises(UsageError, match="cannot read weights file"):
        load_model(d)


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
