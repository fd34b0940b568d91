"""``noisylabels detect`` and ``predict`` on an image folder and a CSV table the test writes."""

import csv
import json

import numpy as np
import pytest

from noisylabels.cli import main

Image = pytest.importorskip("PIL.Image")


def _image_folder(root, per_class=12, size=8):
    rng = np.random.default_rng(0)
    for c, name in enumerate(["circle", "square", "stripe"]):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            img = rng.integers(0, 60, (size, size), dtype=np.uint8)
            img[:, c * 2 : c * 2 + 3] = 250  # a class-specific bright band
            Image.fromarray(img).save(root / name / f"{i:03d}.png")


def test_detect_on_image_folder_then_train_save_predict(tmp_path, capsys):
    root = tmp_path / "shapes"
    _image_folder(root)
    out = tmp_path / "det"
    code = main(["detect", "--data", str(root), "--folds", "2", "--epochs", "2", "--lr", "0.2",
                 "--device", "cpu", "--quiet", "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    rows = list(csv.DictReader(open(out / "issues.csv")))
    n_train = len(rows)
    assert {r["given_class"] for r in rows} == {"circle", "square", "stripe"}
    assert "flipped" not in rows[0]  # the truth is unknown for a user's own labels
    # Each row names its image, whose class folder is the label it was given.
    assert all(r["given_class"] == r["sample"].split("/")[0] for r in rows)
    assert len({r["sample"] for r in rows}) == len(rows)
    summary = json.loads((out / "summary.json").read_text())
    assert "metrics" not in summary and summary["num_samples"] == n_train
    assert (out / "suspects.png").exists() and not (out / "pr_curve.png").exists()
    model = tmp_path / "model"
    assert main(["train", "--dataset", str(root), "--epochs", "2", "--device", "cpu",
                 "--noise", "clean", "--quiet", "--out", str(tmp_path / "runs"),
                 "--exclude", str(out / "issues.csv"), "--edit-top", "2",
                 "--save-model", str(model)]) == 0  # fmt: skip
    pred = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(model), "--data", str(root), "--split", "all",
                 "--out", str(pred)]) == 0  # fmt: skip
    assert len(list(csv.DictReader(open(pred)))) == 36


def test_detect_on_csv_table(tmp_path, capsys):
    rng = np.random.default_rng(1)
    path = tmp_path / "table.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["f1", "f2", "f3", "kind"])
        for i in range(90):
            c = i % 3
            w.writerow([*(rng.normal(size=3) + 3 * np.eye(3)[c]).round(4), f"k{c}"])
    out = tmp_path / "det"
    code = main(["detect", "--data", str(path), "--label-column", "kind", "--folds", "3",
                 "--epochs", "3", "--device", "cpu", "--quiet", "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    probs = np.load(out / "pred_probs.npy")
    assert probs.shape[1] == 3
    rows = list(csv.DictReader(open(out / "issues.csv")))
    assert len(rows) == probs.shape[0] and {r["given_class"] for r in rows} == {"k0", "k1", "k2"}
    assert not (out / "suspects.png").exists()  # no pictures of feature vectors


def test_detect_class_smaller_than_folds_names_the_class(tmp_path, capsys):
    root = tmp_path / "tiny"
    _image_folder(root, per_class=4)
    code = main(["detect", "--data", str(root), "--folds", "5", "--out", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert code == 2 and "fewer than the 5 folds" in err and len(err.strip().splitlines()) == 1


def test_own_data_flow_as_in_the_readme(tmp_path, capsys):
    """detect --data, train --data --exclude --save-model, predict --data, all with defaults."""
    root = tmp_path / "shapes"
    _image_folder(root)
    det = tmp_path / "det"
    assert main(["detect", "--data", str(root), "--folds", "2", "--epochs", "1", "--device", "cpu",
                 "--quiet", "--out", str(det)]) == 0  # fmt: skip
    model = tmp_path / "model"
    runs = tmp_path / "runs"
    code = main(["train", "--data", str(root), "--exclude", str(det / "issues.csv"),
                 "--epochs", "1", "--device", "cpu", "--quiet", "--save-model", str(model),
                 "--out", str(runs)])  # fmt: skip
    assert code == 0, capsys.readouterr().err  # your own labels: no synthetic noise by default
    (record,) = runs.glob("*/record.json")
    assert json.loads(record.read_text())["config"]["noise"] == "clean"
    pred = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(model), "--data", str(root), "--out", str(pred)]) == 0
    assert len(list(csv.DictReader(open(pred)))) == 36  # every image of --data, not a split


@pytest.fixture(scope="module")
def shapes_model(tmp_path_factory):
    """A model trained on an image folder of 3 classes (12 images each)."""
    d = tmp_path_factory.mktemp("predict")
    _image_folder(d / "shapes")
    assert main(["train", "--data", str(d / "shapes"), "--epochs", "1", "--device", "cpu",
                 "--quiet", "--out", str(d / "runs"),
                 "--save-model", str(d / "model")]) == 0  # fmt: skip
    return d


def _predict(model, data, out, *extra):
    assert main(["predict", "--model", str(model), "--data", str(data), "--out", str(out),
                 *extra]) == 0  # fmt: skip
    return list(csv.DictReader(open(out)))


def _class_of(path):
    return ["circle", "square", "stripe"].index(path.split("/")[-2])


def test_predict_names_each_image_by_its_path(shapes_model, tmp_path):
    d = shapes_model
    rows = _predict(d / "model", d / "shapes", tmp_path / "p.csv")
    files = sorted(p.relative_to(d / "shapes").as_posix() for p in (d / "shapes").rglob("*.png"))
    assert sorted(r["sample"] for r in rows) == files and len(files) == 36
    # Each row's label is the class folder of the file it names: rows and files line up.
    assert all(int(r["label"]) == _class_of(r["sample"]) for r in rows)
    # ... and so do the predictions: the row of a file predicts what the file alone gives.
    one = tmp_path / "one"
    for c in ("circle", "square", "stripe"):  # the image, 3 times per class folder
        (one / c).mkdir(parents=True)
        for i in range(3):
            (one / c / f"{i}.png").write_bytes((d / "shapes" / "stripe" / "005.png").read_bytes())
    alone = _predict(d / "model", one, tmp_path / "one.csv")
    (mine,) = [r for r in rows if r["sample"] == "stripe/005.png"]
    assert {(r["predicted_label"], r["probability"]) for r in alone} == {
        (mine["predicted_label"], mine["probability"])
    }
    test_rows = _predict(d / "model", d / "shapes", tmp_path / "t.csv", "--split", "test")
    assert len(test_rows) == 6 and {r["sample"] for r in test_rows} < set(files)


def test_predict_on_train_and_test_folders_names_both(shapes_model, tmp_path):
    d = shapes_model
    split = tmp_path / "split"
    for f in (d / "shapes").rglob("*.png"):
        part = "test" if f.stem.endswith(("0", "1")) else "train"
        dest = split / part / f.parent.name / f.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(f.read_bytes())
    rows = _predict(d / "model", split, tmp_path / "p.csv")
    names = [r["sample"] for r in rows]
    assert len(names) == 36 and {n.split("/")[0] for n in names} == {"train", "test"}
    assert all(int(r["label"]) == _class_of(r["sample"]) for r in rows)


def test_predict_names_table_rows(tmp_path):
    rng = np.random.default_rng(2)
    path = tmp_path / "t.csv"
    labels = [i % 2 for i in range(30)]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "label"])
        for y in labels:
            w.writerow([*rng.normal(size=2).round(3), y])
    assert main(["train", "--data", str(path), "--epochs", "1", "--device", "cpu", "--quiet",
                 "--out", str(tmp_path / "runs"),
                 "--save-model", str(tmp_path / "m")]) == 0  # fmt: skip
    rows = _predict(tmp_path / "m", path, tmp_path / "p.csv")
    assert sorted(r["sample"] for r in rows) == sorted(f"row {i + 1}" for i in range(30))
    assert all(int(r["label"]) == labels[int(r["sample"][4:]) - 1] for r in rows)
