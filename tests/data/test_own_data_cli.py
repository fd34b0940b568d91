"""The own-data flags (--data, --label-column, --image-size) on train, noise, datasets, detect."""

from __future__ import annotations

import json

import numpy as np
import pytest
from own_data_files import write_csv, write_image_folder

from noisylabels.cli import main


def _one_line_error(capsys, code, match):
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and match in err, err


def test_train_on_an_image_folder(tmp_path, capsys):
    write_image_folder(tmp_path / "pets", n=12, size=(9, 7))
    code = main(["train", "--data", str(tmp_path / "pets"), "--image-size", "8", "--epochs", "1",
                 "--noise", "symmetric:0.2", "--device", "cpu", "--out", str(tmp_path / "runs"),
                 "--quiet"])
    assert code == 0, capsys.readouterr().err
    (rec_path,) = (tmp_path / "runs").glob("pets-*/record.json")
    rec = json.loads(rec_path.read_text())
    assert rec["config"]["dataset"] == str(tmp_path / "pets")
    assert rec["config"]["dataset_options"] == {"image_size": "8"}


def test_train_on_a_csv_with_a_label_column(tmp_path, capsys):
    write_csv(tmp_path / "t.csv", n=60, label="target")
    code = main(["train", "--data", str(tmp_path / "t.csv"), "--label-column", "target",
                 "--epochs", "1", "--device", "cpu", "--out", str(tmp_path / "runs"), "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert list((tmp_path / "runs").glob("t-*/record.json"))


def test_noise_and_datasets_on_an_npz(tmp_path, capsys):
    x = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
    np.savez(tmp_path / "f.npz", x_train=x, y_train=np.arange(30) % 3)
    assert main(["noise", "--data", str(tmp_path / "f.npz"), "--kind", "symmetric:0.5"]) == 0
    out = capsys.readouterr().out
    assert "on f train: 24 labels, 3 classes" in out
    assert main(["datasets", "--data", str(tmp_path / "f.npz")]) == 0
    out = capsys.readouterr().out
    assert "f.npz" in out and "24" in out and " 6 " in out


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["train", "--label-column", "y"], "--label-column applies to your own data"),
        (["train", "--dataset", "digits", "--data", "X"], "give --dataset digits or --data"),
        (["noise", "--data", "nowhere/t.csv"], "--data nowhere/t.csv: no such file or folder"),
        (["datasets", "--image-size", "8"], "--image-size applies to your own data"),
    ],
)
def test_flag_misuse_is_one_line_exit_2(capsys, argv, match):
    _one_line_error(capsys, main(argv), match)


def test_bad_csv_through_the_cli_is_one_line_exit_2(tmp_path, capsys):
    (tmp_path / "b.csv").write_text("a,y\n1,0\n")
    code = main(["train", "--data", str(tmp_path / "b.csv"), "--epochs", "1"])
    _one_line_error(capsys, code, "has no column 'label'")


def test_broken_image_through_the_cli_is_one_line_exit_2(tmp_path, capsys):
    write_image_folder(tmp_path / "p", n=2)
    (tmp_path / "p" / "dog" / "bad.png").write_bytes(b"\x89PNG broken")
    code = main(["noise", "--data", str(tmp_path / "p")])
    _one_line_error(capsys, code, "bad.png")
