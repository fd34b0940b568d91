"""A user's own files: image folder, CSV/Parquet table, npz; every bad input is one line."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from own_data_files import write_csv, write_image_folder

from noisylabels.data import dataset_info, load_dataset, load_path
from noisylabels.data.userfiles import parse_image_size, resize_images
from noisylabels.errors import UsageError

Image = pytest.importorskip("PIL.Image")


def test_image_folder_round_trips_pixels_and_labels(tmp_path):
    pix = write_image_folder(tmp_path / "pets", n=10)
    ds = load_path(tmp_path / "pets", test_fraction=0.2, seed=1)
    assert ds.name == "pets" and ds.classes == ("cat", "dog")
    assert ds.x_train.shape == (16, 3, 4, 6) and ds.x_train.dtype == torch.uint8
    assert len(ds.y_test) == 4 and ds.y_test.bincount().tolist() == [2, 2]
    every = {a.transpose(2, 0, 1).tobytes(): i for i, c in enumerate(("cat", "dog"))
             for a in pix[c]}
    for x, y in zip(torch.cat([ds.x_train, ds.x_test]), torch.cat([ds.y_train, ds.y_test]),
                    strict=True):
        assert every[x.numpy().tobytes()] == int(y)
    # the same folder through load_dataset(path) and dataset_info(path)
    assert torch.equal(load_dataset(str(tmp_path / "pets"), seed=1).x_train, ds.x_train)
    info = dataset_info(str(tmp_path / "pets"))
    assert (info.n_train, info.n_test, info.input_shape, info.num_classes, info.format) == (
        16, 4, (3, 4, 6), 2, "image-folder")


def test_grey_folder_with_train_and_test_split(tmp_path):
    write_image_folder(tmp_path / "d" / "train", classes=("a", "b", "c"), n=3, mode="L")
    write_image_folder(tmp_path / "d" / "test", classes=("a", "c"), n=2, mode="L", seed=1)
    ds = load_path(tmp_path / "d")
    assert ds.classes == ("a", "b", "c") and ds.input_shape == (1, 4, 6)
    assert ds.y_train.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert ds.y_test.tolist() == [0, 0, 2, 2]
    assert ds.source == str(tmp_path / "d")


def test_mixed_sizes_need_image_size_and_are_resized(tmp_path):
    write_image_folder(tmp_path / "m", classes=("a",), n=2, size=(6, 4))
    write_image_folder(tmp_path / "m2", classes=("b",), n=2, size=(8, 8))
    (tmp_path / "m2" / "b").rename(tmp_path / "m" / "b")
    with pytest.raises(UsageError, match=r"images differ in size: .*a/000.png is 6x4, .*b/000.png "
                                         r"is 8x8.*--image-size"):
        load_path(tmp_path / "m")
    ds = load_path(tmp_path / "m", image_size=5, test_fraction=0.5)
    assert ds.input_shape == (3, 5, 5)
    assert dataset_info(str(tmp_path / "m"), image_size="5x7").input_shape == (3, 5, 7)


def test_resize_matches_pillows_bilinear_filter():
    # Pillow's BILINEAR resize (a triangle filter widened by the scale when shrinking) is the
    # independent reference: within one grey level of ours, down and up.
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (13, 17), dtype=np.uint8)
    for size in ((5, 7), (26, 30), (13, 9)):
        ref = np.asarray(Image.fromarray(a).resize((size[1], size[0]), Image.BILINEAR))
        got = resize_images(torch.from_numpy(a)[None, None], size)[0, 0].numpy()
        assert got.shape == ref.shape
        assert np.abs(got.astype(int) - ref.astype(int)).max() <= 1
    x = torch.from_numpy(a)[None, None]
    assert resize_images(x, (13, 17)) is x


@pytest.mark.parametrize(("value", "want"), [(32, (32, 32)), ("32x24", (32, 24)),
                                              ((8, 9), (8, 9)), (None, None)])
def test_parse_image_size(value, want):
    assert parse_image_size(value) == want


def test_parse_image_size_rejects_nonsense():
    with pytest.raises(UsageError, match="image size 'big'"):
        parse_image_size("big")


def test_truncated_image_names_the_file(tmp_path):
    write_image_folder(tmp_path / "t", n=3, size=(32, 32))
    bad = tmp_path / "t" / "dog" / "001.png"
    bad.write_bytes(bad.read_bytes()[:60])
    with pytest.raises(UsageError, match=r"cannot read image .*dog/001\.png"):
        load_path(tmp_path / "t")


def test_unreadable_image_names_the_file(tmp_path):
    write_image_folder(tmp_path / "u", n=2)
    (tmp_path / "u" / "cat" / "zz.jpg").write_bytes(b"not an image at all")
    with pytest.raises(UsageError, match=r"cannot read image .*cat/zz\.jpg"):
        load_path(tmp_path / "u")


def test_class_folder_without_images_names_the_class(tmp_path):
    write_image_folder(tmp_path / "e", n=2)
    (tmp_path / "e" / "empty").mkdir()
    (tmp_path / "e" / "empty" / "notes.txt").write_text("x")
    with pytest.raises(UsageError, match=r"class folder .*e/empty holds no images"):
        load_path(tmp_path / "e")


def test_test_class_outside_the_class_list(tmp_path):
    write_image_folder(tmp_path / "s" / "train", classes=("a", "b"), n=2)
    write_image_folder(tmp_path / "s" / "test", classes=("a", "zebra"), n=2)
    with pytest.raises(UsageError, match="class 'zebra' is not in the class list"):
        load_path(tmp_path / "s")


def test_folder_without_class_folders(tmp_path):
    (tmp_path / "flat").mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "flat" / "a.png")
    with pytest.raises(UsageError, match="must sit in a class folder"):
        load_path(tmp_path / "flat")


def test_folder_too_big_for_memory_is_refused_early(tmp_path, monkeypatch):
    from noisylabels.data import arrays

    write_image_folder(tmp_path / "big", n=2)
    monkeypatch.setattr(arrays, "available_memory", lambda: 100)
    with pytest.raises(UsageError, match=r"big: the decoded data take an estimated 288 B"):
        load_path(tmp_path / "big")


# -- tables ------------------------------------------------------------------------------------


def test_csv_table_end_to_end(tmp_path):
    x, y = write_csv(tmp_path / "t.csv")
    ds = load_path(tmp_path / "t.csv", seed=0)
    assert ds.name == "t" and ds.classes == ("0", "1", "2") and ds.input_shape == (3,)
    rows = torch.cat([ds.x_train, ds.x_test]).numpy()
    labels = torch.cat([ds.y_train, ds.y_test]).numpy()
    order = np.lexsort(rows.T[::-1])
    ref = np.lexsort(x.astype(np.float32).T[::-1])
    np.testing.assert_array_equal(rows[order], x.astype(np.float32)[ref])
    np.testing.assert_array_equal(labels[order], y[ref])


def test_csv_with_named_labels_and_label_column(tmp_path):
    write_csv(tmp_path / "n.csv", label="target", names=True)
    ds = load_path(tmp_path / "n.csv", label_column="target")
    assert ds.classes == ("high", "low", "mid")
    assert dataset_info(str(tmp_path / "n.csv"), label_column="target").num_classes == 3


@pytest.mark.parametrize(
    ("text", "kw", "match"),
    [
        ("", {}, "is empty"),
        ("a,b,label\n", {}, "header but no rows"),
        ("a,b,y\n1,2,0\n", {}, r"no column 'label' \(columns: a, b, y\).*--label-column"),
        ("a,label\n1,0\n2,nan\n", {}, "row 2 has no label"),
        ("a,label\n1,0\n2,\n", {}, "row 2 has no label"),
        ("a,label\n1,0\n2,1.5\n", {}, "row 2 has label '1.5', not an integer"),
        ("a,label\n1,0\nx,1\n", {}, r"row 2, column 'a' is 'x', not a number"),
        ("a,label\n1,0\n2,1,3\n", {}, "row 2 has 3 fields"),
        ("a,label\n1,0\nnan,1\n", {}, r"row 1, column 0 is NaN"),
    ],
)
def test_bad_tables_are_one_line_errors(tmp_path, text, kw, match):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(UsageError, match=match):
        load_path(p, **kw)


def test_parquet_table(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    write_csv(tmp_path / "t.csv")
    pd.read_csv(tmp_path / "t.csv").to_parquet(tmp_path / "t.parquet")
    a, b = load_path(tmp_path / "t.csv"), load_path(tmp_path / "t.parquet")
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)


# -- npz ---------------------------------------------------------------------------------------


def test_npz_with_test_arrays_and_classes(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (12, 5, 5, 3), dtype=np.uint8)  # NHWC
    y = np.arange(12) % 3
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y, x_test=x[:6], y_test=y[:6],
             classes=np.array(["r", "g", "b"]))
    ds = load_path(tmp_path / "d.npz")
    assert ds.classes == ("r", "g", "b") and ds.x_train.shape == (12, 3, 5, 5)
    assert torch.equal(ds.x_train, torch.from_numpy(x.transpose(0, 3, 1, 2).copy()))
    assert len(ds.y_test) == 6
    info = dataset_info(str(tmp_path / "d.npz"))
    assert (info.n_train, info.n_test, info.format) == (12, 6, "npz")


def test_npz_without_test_split_and_bad_npz(tmp_path):
    x = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    np.savez(tmp_path / "f.npz", x_train=x, y_train=np.arange(20) % 2)
    assert len(load_path(tmp_path / "f.npz").y_test) == 4
    np.savez(tmp_path / "g.npz", x=x)
    with pytest.raises(UsageError, match=r"g\.npz lacks x_train, y_train \(it has: x\)"):
        load_path(tmp_path / "g.npz")
    np.savez(tmp_path / "o.npz", x_train=np.array([{"a": 1}] * 2, dtype=object),
             y_train=np.arange(2))
    with pytest.raises(UsageError, match="holds Python objects"):
        load_path(tmp_path / "o.npz")
    (tmp_path / "h.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(UsageError, match=r"cannot read .*h\.npz"):
        load_path(tmp_path / "h.npz")


def test_paths_that_are_not_data(tmp_path):
    with pytest.raises(UsageError, match="no such file or folder"):
        load_path(tmp_path / "nope.csv")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(UsageError, match="unknown data file type .txt"):
        load_path(tmp_path / "x.txt")
    write_csv(tmp_path / "t.csv")
    with pytest.raises(UsageError, match="--image-size applies to image folders"):
        load_path(tmp_path / "t.csv", image_size=8)
    with pytest.raises(UsageError, match="or give the path of an image folder"):
        load_dataset("no-such-dataset")


def test_a_path_works_as_the_dataset_of_a_config(tmp_path):
    from noisylabels.train import TrainConfig, check_config, run

    write_csv(tmp_path / "t.csv", n=60)
    cfg = TrainConfig(dataset=str(tmp_path / "t.csv"), noise="symmetric:0.2", epochs=1,
                      batch_size=16, device="cpu")
    check_config(cfg)
    rec = run(cfg)
    assert rec["status"] == "ok" and rec["config"]["dataset"] == str(tmp_path / "t.csv")
    with pytest.raises(UsageError, match="no class map"):
        check_config(cfg.replace(noise="asymmetric:0.2"))
