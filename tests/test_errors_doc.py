"""Every row of docs/errors.md, run: the command fails with the documented line and exit code."""

from __future__ import annotations

import os
import pickle
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from noisylabels.cli import main
from noisylabels.noise import NoisyLabels, corrupt

DOC = Path(__file__).resolve().parents[1] / "docs" / "errors.md"
_ROW = re.compile(
    r"^\|(?P<what>[^|]+)\|\s*`noisylabels (?P<cmd>[^`]+)`\s*\|(?P<msg>.+)\|\s*(?P<rc>\d+)\s*\|$"
)


def doc_rows() -> list[tuple[str, str, str, int]]:
    """(bad input, argv text, message fragment, exit code) for each command row of the doc."""
    rows = []
    for line in DOC.read_text().splitlines():
        m = _ROW.match(line.strip())
        if m:
            msg = m["msg"].strip().replace("\\|", "|")
            assert msg.startswith("`") and msg.endswith("`"), line
            rows.append((m["what"].strip(), m["cmd"].strip(), msg[1:-1], int(m["rc"])))
    return rows


ROWS = doc_rows()


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    """A folder with every file the doc's commands name."""
    d = tmp_path_factory.mktemp("hostile")
    (d / "afile").write_bytes(b"")
    os.mkfifo(d / "fifo")
    from noisylabels.data import load_dataset

    y = load_dataset("digits").y_train.numpy()
    good = corrupt(y, "symmetric:0.2", num_classes=10, seed=0)
    good.save(d / "labels.npz")
    (d / "text.npz").write_text("0\n1\n2\n")
    with np.load(d / "labels.npz") as z:
        arrays = dict(z)
    noisy = arrays["noisy_labels"].astype(np.int64)
    for name, bad in {
        "float_labels": noisy.astype(np.float64),
        "bool_labels": noisy.astype(bool),
        "neg_labels": np.where(np.arange(len(noisy)) == 0, -1, noisy),
        "2d_labels": noisy.reshape(1, -1),
    }.items():
        np.savez(d / f"{name}.npz", **{**arrays, "noisy_labels": bad})
    (d / "nonutf8.yaml").write_bytes(b"\xff\xfe")
    (d / "grid.yaml").write_text("base: {epochs: 1}\nmethods: [ce]\nseeds: [0]\n")
    (d / "seeds_scalar.yaml").write_text("base: {epochs: 1}\nmethods: [ce]\nseeds: 3\n")
    (d / "epochs_true.yaml").write_text("epochs: true\n")
    (d / "list.yaml").write_text("- 1\n- 2\n")
    (d / "runs").mkdir()
    (d / "runs" / "report.md").write_text("{}\n")
    (d / "evil").mkdir()
    with open(d / "evil" / "CIFAR-10_human.pt", "wb") as f:
        pickle.dump({"clean_label": _Evil()}, f, protocol=2)
    (d / "floatn").mkdir()
    import torch

    keys = ("clean_label", "aggre_label", "random_label1", "random_label2", "random_label3")
    labels = {k: np.zeros(50_000, dtype=np.int64) for k in keys}
    torch.save({**labels, "worse_label": np.zeros(50_000)}, d / "floatn" / "CIFAR-10_human.pt")
    rng = np.random.default_rng(0)
    np.savez(d / "data.npz", x_train=rng.random((40, 3)), y_train=np.arange(40) % 2)
    np.savez(d / "obj.npz", x_train=np.array([None] * 20, dtype=object), y_train=np.zeros(20))
    from PIL import Image

    for c in "ab":
        (d / "images" / c).mkdir(parents=True)
        for i in range(6):
            pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(d / "images" / c / f"{i}.png")
    (d / "nanfeat.csv").write_text("a,b,label\n1,nan,0\n2,3,1\n4,5,0\n6,7,1\n")
    (d / "floatlab.csv").write_text("a,b,label\n1,2,0.5\n2,3,1\n4,5,0\n6,7,1\n")
    for c in ("cat", "dog"):
        (d / "badimg" / c).mkdir(parents=True)
        (d / "badimg" / c / "a.png").write_text("not an image")
    (d / "emptyclass" / "cat").mkdir(parents=True)
    bomb = ["method_params:", "  a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    bomb += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 8)]
    (d / "bomb.yaml").write_text("\n".join(bomb) + "\n")
    (d / "badrecord.jsonl").write_text('{"run_id": "x", "status": "ok", "config": 5}\n')
    _checkpoints_and_logs(d)
    _issue_files(d)
    _saved_models(d)
    _own_data_faults(d, rng)
    return d


def _checkpoints_and_logs(d: Path) -> None:
    """``ck/``, ``logged/``: checkpoint and CSV log of ``train --epochs 1``; broken copies."""
    import torch

    argv = ["train", "--epochs", "1", "--checkpoint-every", "1", "--checkpoint-dir", str(d / "ck"),
            "--log", "csv", "--out", str(d / "logged"), "--save-model", str(d / "model"),
            "--quiet", "--threads", "1"]  # fmt: skip
    assert main(argv) == 0
    (run,) = (d / "logged").iterdir()
    (d / "logfile" / run.name).mkdir(parents=True)
    (d / "logfile" / run.name / "csv").write_text("")
    (d / "logfifo" / run.name / "csv").mkdir(parents=True)
    os.mkfifo(d / "logfifo" / run.name / "csv" / "metrics.csv")
    raw = (d / "ck" / "checkpoint.pt").read_bytes()
    (d / "trunc.pt").write_bytes(raw[: len(raw) // 2])
    ck = torch.load(d / "ck" / "checkpoint.pt", weights_only=True)
    torch.save({**ck, "epoch": 7}, d / "edited.pt")


def _own_data_faults(d: Path, rng: np.random.Generator) -> None:
    """Own-data files with one fault each, and ``results.jsonl`` (the ``train`` run's record)."""
    from PIL import Image

    def png(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(path)

    for c in "ab":
        for i in range(3):
            png(d / "nested" / c / f"{i}.png")
            png(d / "emptytest" / "train" / c / f"{i}.png")
        png(d / "single" / c / "0.png")
    png(d / "nested" / "a" / "more" / "9.png")
    (d / "emptytest" / "test").mkdir()
    (d / "nofeat.csv").write_text("label\n" + "".join(f"{i % 2}\n" for i in range(10)))
    (d / "biglabel.csv").write_text(
        "a,label\n" + "".join(f"{i},{10**12 if i == 0 else i % 2}\n" for i in range(10))
    )
    np.savez(d / "dupclass.npz", x_train=rng.random((10, 2)), y_train=np.arange(10) % 2,
             classes=np.array(["cat", "cat"]))  # fmt: skip
    (record,) = (d / "logged").glob("*/record.json")
    (d / "results.jsonl").write_text(record.read_text().replace("\n", "") + "\n")


def _saved_models(d: Path) -> None:
    """``model_*/``: copies of the saved ``model/`` (as ``weights.pt``), each with one fault."""
    import json

    import torch

    from noisylabels.models.saved import load_model

    weights = {k: v.clone() for k, v in load_model(d / "model").state_dict().items()}
    meta = {**json.loads((d / "model" / "model.json").read_text()), "weights": "weights.pt"}
    first = next(iter(weights))
    faults = {
        "noweights": ({}, None),
        "seedcnn": ({"model": "seed-cnn"}, weights),
        "classes5": ({"classes": list("abcde")}, weights),
        "classtext": ({"classes": "0123456789"}, weights),
        "std0": ({"std": [0.0]}, weights),
        "path": ({"weights": "../data.npz"}, weights),
        "shape": ({}, {**weights, first: weights[first][..., :3]}),
        "nan": ({}, {**weights, first: weights[first] * float("nan")}),
        "evil": ({}, None),
    }
    for name, (change, state) in faults.items():
        folder = d / f"model_{name}"
        folder.mkdir()
        (folder / "model.json").write_text(json.dumps({**meta, **change}))
        if state is not None:
            torch.save(state, folder / "weights.pt")
    with open(d / "model_evil" / "weights.pt", "wb") as f:
        pickle.dump({first: _Evil()}, f, protocol=2)
    (d / "model_json").mkdir()
    (d / "model_json" / "model.json").write_text("{not json")


def _issue_files(d: Path) -> None:
    """``issues_*.csv``: issues files for ``digits`` (1438 training samples, 10 classes), each
    with one fault; ``issues_given.csv`` is well formed but for labels other than the run's."""
    head = "rank,index,given_label,given_class,suggested_label,suggested_class,suggested_prob," \
        "score,flagged\n"  # fmt: skip
    rows = {
        "empty": "",
        "given": "1,0,99,99,1,1,0.9,0.1,1\n",
        "oob": "1,5000,0,0,1,1,0.9,0.1,1\n",
        "neg": "1,-3,0,0,1,1,0.9,0.1,1\n",
        "dup": "1,4,0,0,1,1,0.9,0.1,1\n2,4,0,0,1,1,0.9,0.1,1\n",
        "float": "1,4.5,0,0,1,1,0.9,0.1,1\n",
        "class": "1,4,0,0,10,10,0.9,0.1,1\n",
        "nan": "1,4,0,0,1,1,nan,0.1,1\n",
    }
    for name, text in rows.items():
        (d / f"issues_{name}.csv").write_text(head + text)


@pytest.mark.parametrize(("what", "cmd", "message", "code"), ROWS, ids=[r[0] for r in ROWS])
def test_documented_error(what, cmd, message, code, hostile, monkeypatch, capsys):
    monkeypatch.chdir(hostile)
    try:
        rc = main(shlex.split(cmd))
    except SystemExit as e:  # argparse errors exit from inside parse_args
        rc = e.code
    err = capsys.readouterr().err
    assert rc == code, err
    lines = err.strip().splitlines()
    assert message in lines[-1], err
    assert "Traceback" not in err
    assert not (hostile / "pwned").exists()
    assert (hostile / "fifo").is_fifo()
    assert NoisyLabels.load(hostile / "labels.npz").num_classes == 10
    with np.load(hostile / "data.npz") as z:
        assert sorted(z.files) == ["x_train", "y_train"]
    assert len(list((hostile / "images" / "a").iterdir())) == 6


def test_the_doc_has_rows():
    assert len(ROWS) >= 60
    assert len({r[1] for r in ROWS}) == len(ROWS), "two rows run the same command"
