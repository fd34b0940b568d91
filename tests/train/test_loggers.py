"""CSV and TensorBoard loggers, and the train command's watch/resume flags."""

import csv
import json
import sys
import types

import pytest

from noisylabels.cli import main
from noisylabels.errors import UsageError
from noisylabels.train import TrainConfig, run
from noisylabels.train.loggers import CSVLogger, TensorBoardLogger

CFG = TrainConfig(dataset="moons", noise="symmetric:0.3", epochs=3, batch_size=64,
                  method="confidence")  # fmt: skip


def _read(path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_csv_logger_writes_the_record_rows_and_weight_histograms(tmp_path):
    rec = run(CFG, callbacks=[CSVLogger(tmp_path)])
    rows = _read(tmp_path / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    for row, epoch in zip(rows, rec["epochs"], strict=True):
        assert float(row["train_loss"]) == pytest.approx(epoch["train_loss"])
        assert float(row["weight_auroc"]) == pytest.approx(epoch["weight_auroc"])
    hist = _read(tmp_path / "weights.csv")
    assert len(hist) == 3 * 2 * 30
    last = [h for h in hist if h["epoch"] == "3"]
    assert [int(h["count"]) for h in last if h["group"] == "clean"] == rec["weights"]["clean"]
    assert [int(h["count"]) for h in last if h["group"] == "mislabeled"] == rec["weights"]["noisy"]
    assert sum(int(h["count"]) for h in last) == rec["data"]["num_train"]


def test_tensorboard_without_the_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(UsageError, match=r"noisylabels\[tensorboard\]"):
        TensorBoardLogger("tb")


def test_tensorboard_logger_writes_scalars_and_histograms(monkeypatch, tmp_path):
    calls = []

    class FakeWriter:
        def __init__(self, logdir, purge_step=None):
            calls.append(("open", logdir, purge_step))

        def add_scalar(self, tag, value, step):
            calls.append(("scalar", tag, step))

        def add_histogram(self, tag, values, step):
            calls.append(("hist", tag, step, len(values)))

        def flush(self):
            pass

        def close(self):
            calls.append(("close",))

    monkeypatch.setitem(
        sys.modules, "torch.utils.tensorboard", types.SimpleNamespace(SummaryWriter=FakeWriter)
    )
    rec = run(CFG, callbacks=[TensorBoardLogger(tmp_path)])
    assert calls[0] == ("open", str(tmp_path), 1) and calls[-1] == ("close",)
    assert ("scalar", "val_acc_noisy", 3) in calls and ("scalar", "weight_auroc", 2) in calls
    hists = [c for c in calls if c[0] == "hist" and c[2] == 3]
    assert sum(c[3] for c in hists) == rec["data"]["num_train"]
    assert ("scalar", "final/test_acc_selected", 3) in calls


def _train(tmp_path, *extra):
    args = ["train", "--dataset", "moons", "--noise", "symmetric:0.3", "--epochs", "3",
            "--batch-size", "64", "--method", "confidence", "--out", str(tmp_path / "runs"),
            "--quiet", "--threads", "1", *extra]  # fmt: skip
    return main(args)


def _record(tmp_path):
    (folder,) = (tmp_path / "runs").iterdir()
    rec = json.loads((folder / "record.json").read_text())
    for r in rec["epochs"]:
        r.pop("time_s"), r.pop("eval_time_s")
    return folder, rec["epochs"], rec["final"]["test_acc_selected"]


def test_cli_checkpoint_log_and_resume(tmp_path, capsys):
    ck = tmp_path / "ck"
    assert _train(tmp_path, "--checkpoint-every", "2", "--checkpoint-dir", str(ck),
                  "--log", "csv") == 0  # fmt: skip
    folder, epochs, selected = _record(tmp_path)
    assert (ck / "checkpoint.pt").exists() and (folder / "csv" / "metrics.csv").exists()
    # Resuming the finished run's checkpoint trains nothing more and writes the same record.
    assert _train(tmp_path, "--resume", str(ck)) == 0
    assert _record(tmp_path)[1:] == (epochs, selected)


def test_cli_a_finished_runs_log_and_checkpoint_are_never_replaced(tmp_path, capsys):
    ck = tmp_path / "ck"
    assert _train(tmp_path, "--checkpoint-every", "1", "--checkpoint-dir", str(ck),
                  "--log", "csv") == 0  # fmt: skip
    folder, _, _ = _record(tmp_path)
    log, saved = (folder / "csv" / "metrics.csv").read_text(), (ck / "checkpoint.pt").read_bytes()
    capsys.readouterr()
    assert _train(tmp_path, "--log", "csv") == 2
    assert "already holds the log of an earlier run" in capsys.readouterr().err
    assert _train(tmp_path, "--checkpoint-every", "1", "--checkpoint-dir", str(ck)) == 2
    assert f"go on from it with --resume {ck}" in capsys.readouterr().err
    assert (folder / "csv" / "metrics.csv").read_text() == log
    assert (ck / "checkpoint.pt").read_bytes() == saved
    # Going on from the checkpoint keeps the log's epochs (all three: the run had finished).
    assert _train(tmp_path, "--resume", str(ck), "--log", "csv", "--checkpoint-every", "1") == 0
    assert (folder / "csv" / "metrics.csv").read_text() == log


def test_cli_watch_flag_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    assert _train(tmp_path, "--log", "tensorboard") == 2
    assert "noisylabels[tensorboard]" in capsys.readouterr().err
    assert _train(tmp_path, "--log", "wandb") == 2
    assert _train(tmp_path, "--checkpoint-dir", str(tmp_path)) == 2
    assert _train(tmp_path, "--resume", str(tmp_path / "nothing")) == 2


def test_an_earlier_tensorboard_log_is_kept_unless_resuming(tmp_path):
    from noisylabels.train.loggers import check_log_folder

    assert check_log_folder("tensorboard", tmp_path, resuming=False) == tmp_path / "tensorboard"
    (tmp_path / "tensorboard").mkdir()
    (tmp_path / "tensorboard" / "events.out.tfevents.1.host").write_bytes(b"x")
    with pytest.raises(UsageError, match="already holds the log of an earlier run"):
        check_log_folder("tensorboard", tmp_path, resuming=False)
    assert check_log_folder("tensorboard", tmp_path, resuming=True) == tmp_path / "tensorboard"
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="is a file, not a folder"):
        check_log_folder("tensorboard", tmp_path / "file", resuming=False)
