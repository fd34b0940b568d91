"""from_arrays, register_dataset: layouts, scales, labels, splits, registration everywhere."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from noisylabels.data import (
    DATASETS,
    DatasetBundle,
    dataset_info,
    from_arrays,
    load_dataset,
    register_dataset,
    unregister_dataset,
)
from noisylabels.data import arrays as arr
from noisylabels.errors import UsageError


def _images(n=40, h=6, w=5, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, c, h, w), dtype=np.uint8)


@pytest.fixture
def registered():
    names = []

    def reg(name, ds, **kw):
        names.append(name)
        return register_dataset(name, ds, **kw)

    yield reg
    for n in names:
        if n in DATASETS:
            unregister_dataset(n)


def test_nhwc_becomes_nchw_with_the_same_pixels():
    x = _images()
    y = np.arange(len(x)) % 4
    nchw = from_arrays(x, y, x, y)
    nhwc = from_arrays(x.transpose(0, 2, 3, 1), y, x.transpose(0, 2, 3, 1), y)
    assert nhwc.x_train.shape == (40, 3, 6, 5)
    assert nhwc.x_train.dtype == torch.uint8
    assert torch.equal(nchw.x_train, nhwc.x_train)
    assert torch.equal(nhwc.x_train, torch.from_numpy(x))


def test_grey_images_get_one_channel_and_torch_inputs_work():
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (20, 7, 7), dtype=torch.uint8, generator=gen)
    y = torch.arange(20) % 2
    ds = from_arrays(x, y, x, y)
    assert ds.input_shape == (1, 7, 7) and ds.is_image
    assert torch.equal(ds.x_train[:, 0], x)


def test_float_images_in_unit_range_store_uint8_when_lossless():
    x = _images()
    y = np.arange(len(x)) % 2
    ds = from_arrays(x.astype(np.float32) / 255.0, y, x.astype(np.float64), y)
    assert ds.x_train.dtype == torch.uint8 and ds.x_test.dtype == torch.uint8
    assert torch.equal(ds.x_train, torch.from_numpy(x))
    assert torch.equal(ds.x_test, torch.from_numpy(x))


def test_float_images_that_are_not_integral_stay_float_on_the_255_scale():
    x = np.random.default_rng(1).random((30, 2, 4, 4))  # [0, 1), not multiples of 1/255
    y = np.arange(30) % 3
    ds = from_arrays(x, y, x, y)
    assert ds.x_train.dtype == torch.float32 and ds.is_image
    np.testing.assert_allclose(ds.x_train.numpy(), x * 255.0, rtol=1e-6)
    # mean/std on the [0, 1] scale, per channel, population std: an independent computation
    np.testing.assert_allclose(ds.mean, x.mean(axis=(0, 2, 3)), rtol=1e-6)
    np.testing.assert_allclose(ds.std, x.std(axis=(0, 2, 3)), rtol=1e-6)


def test_uint8_stats_match_numpy():
    x = _images()
    y = np.arange(len(x)) % 2
    ds = from_arrays(x, y, x, y)
    ref = x.astype(np.float64) / 255.0
    np.testing.assert_allclose(ds.mean, ref.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(ds.std, ref.std(axis=(0, 2, 3)), rtol=1e-12)


@pytest.mark.parametrize(
    ("x", "match"),
    [
        (np.full((4, 3, 2, 2), 300, dtype=np.int32), "0..255"),
        (np.full((4, 3, 2, 2), -0.5), r"\[0, 1\] or \[0, 255\]"),
        (np.full((4, 3, 2, 2), np.nan), "NaN"),
        (np.zeros((4, 8, 8, 8)), "channel axis"),
        (np.zeros((4,)), "inputs must be"),
    ],
)
def test_bad_images_are_one_line_errors(x, match):
    with pytest.raises(UsageError, match=match):
        from_arrays(x, np.arange(len(x)) % 2)


def test_features_are_float32_with_per_feature_stats():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 3))
    x[:, 2] = 5.0  # constant feature: std 1, not 0
    y = (x[:, 0] > 0).astype(int)
    ds = from_arrays(x, y, name="tab")
    assert ds.x_train.dtype == torch.float32 and not ds.is_image
    xtr = ds.x_train.numpy().astype(np.float64)
    np.testing.assert_allclose(ds.mean, xtr.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(ds.std[:2], xtr.std(axis=0)[:2], rtol=1e-9)
    assert ds.std[2] == 1.0
    assert ds.name == "tab" and ds.classes == ("0", "1")


def test_no_test_split_is_a_stratified_seeded_split():
    x = np.arange(200, dtype=np.float32).reshape(100, 2)
    y = np.repeat([0, 1, 2, 3], 25)
    a = from_arrays(x, y, seed=3)
    b = from_arrays(x, y, seed=3)
    c = from_arrays(x, y, seed=4)
    assert torch.equal(a.x_test, b.x_test) and not torch.equal(a.x_test, c.x_test)
    assert np.bincount(a.y_test.numpy()).tolist() == [5, 5, 5, 5]
    # train and test are disjoint and together the whole set, order kept
    rows = np.concatenate([a.x_train.numpy()[:, 0], a.x_test.numpy()[:, 0]])
    assert sorted(rows.tolist()) == x[:, 0].tolist()
    assert np.all(np.diff(a.x_train.numpy()[:, 0]) > 0)
    assert "stratified split test_fraction=0.2, seed=3" in a.source


def test_string_labels_map_through_sorted_names_or_given_classes():
    x = np.zeros((6, 2), dtype=np.float32)
    y = np.array(["cat", "dog", "cat", "bird", "dog", "bird"])
    ds = from_arrays(x, y, x, y)
    assert ds.classes == ("bird", "cat", "dog")
    assert ds.y_train.tolist() == [1, 2, 1, 0, 2, 0]
    ds2 = from_arrays(x, y, x, y, classes=["dog", "cat", "bird"])
    assert ds2.y_train.tolist() == [1, 0, 1, 2, 0, 2]


@pytest.mark.parametrize(
    ("y", "kw", "match"),
    [
        (np.array([0, 1, 2, 5]), {"classes": ["a", "b", "c"]}, "label 5 is outside the class list"),
        (np.array([0, 1, -1, 1]), {}, "label -1 is outside"),
        (np.array([0.0, 1.0, np.nan, 1.0]), {}, "label 2 is NaN"),
        (np.array([0.0, 1.5, 1.0, 0.0]), {}, "label 1 is 1.5, not an integer"),
        (np.array(["a", "b", "zebra", "a"]), {"classes": ["a", "b"]}, "'zebra' not in the class"),
        (np.array([0, 1, 0]), {}, "4 rows but y_train has 3"),
        (np.array([0, 0, 0, 0]), {}, "at least 2 classes"),
    ],
)
def test_bad_labels_are_one_line_errors(y, kw, match):
    x = np.zeros((4, 2), dtype=np.float32)
    with pytest.raises(UsageError, match=match):
        from_arrays(x, y, x[: len(y)] if len(y) == 4 else None, y if len(y) == 4 else None, **kw)


def test_x_test_without_y_test_is_refused():
    x = np.zeros((4, 2), dtype=np.float32)
    with pytest.raises(UsageError, match="x_test and y_test together"):
        from_arrays(x, [0, 1, 0, 1], x_test=x)


def test_memory_check_refuses_with_the_estimate():
    with pytest.raises(UsageError, match=r"estimated 1\.0 GiB .* only 100\.0 MiB"):
        arr.check_memory(1 << 30, "big", available=100 << 20)
    arr.check_memory(1 << 20, "small", available=100 << 20)  # fits: no error


def test_registered_bundle_loads_and_has_info(registered):
    x, y = _images(n=20), np.arange(20) % 2
    ds = from_arrays(x, y, x, y, classes=["a", "b"], name="whatever")
    register_dataset_spec = registered("my-images", ds)
    assert register_dataset_spec.name == "my-images"
    got = load_dataset("my-images")
    assert got.name == "my-images" and torch.equal(got.x_train, ds.x_train)
    info = dataset_info("my-images")
    assert (info.n_train, info.n_test, info.input_shape, info.num_classes) == (20, 20, (3, 6, 5), 2)
    with pytest.raises(ValueError, match="already registered"):
        register_dataset("my-images", ds)


def test_plain_function_registered_in_the_registry_has_info(registered):
    x, y = _images(n=10), np.arange(10) % 2
    ds = from_arrays(x, y, x, y)
    DATASETS.register("plain-fn")(lambda root=None, **kw: ds)
    try:
        info = dataset_info("plain-fn")
        assert info.n_train == 10 and info.input_shape == (3, 6, 5)
    finally:
        DATASETS.unregister("plain-fn")


def test_registered_dataset_passes_grid_validation(registered):
    from noisylabels.bench.grid import expand_grid

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    registered("my-table", from_arrays(x, y))
    runs = expand_grid({"datasets": ["my-table"], "noise": ["symmetric:0.2"], "methods": ["ce"],
                        "models": ["mlp"]}, "g")
    assert [r.config.dataset for r in runs] == ["my-table"]
    with pytest.raises(UsageError, match="no class map for dataset 'my-table'"):
        expand_grid({"datasets": ["my-table"], "noise": ["asymmetric:0.2"]}, "g")


def test_registered_function_gets_options(registered):
    def make(n=10):
        """Toy features."""
        x = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
        return from_arrays(x, np.arange(n) % 2, x, np.arange(n) % 2)

    registered("toy-fn", make)
    assert len(load_dataset("toy-fn", n=12).y_train) == 12
    assert DATASETS.describe("toy-fn") == "Toy features."


def test_builtin_cannot_be_unregistered():
    with pytest.raises(UsageError, match="built in"):
        unregister_dataset("digits")


def test_bundle_type_is_the_one_load_dataset_returns():
    x = np.zeros((4, 2), dtype=np.float32)
    assert type(from_arrays(x, [0, 1, 0, 1], x, [0, 1, 0, 1])) is type(load_dataset("moons"))
    assert isinstance(load_dataset("moons"), DatasetBundle)


@pytest.mark.parametrize("kind", ["uint8", "float", "features"])
def test_registered_dataset_trains_end_to_end(registered, kind):
    from noisylabels.train import TrainConfig, run

    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    if kind == "features":
        x = rng.normal(size=(60, 5)) + y[:, None]
    else:
        x = rng.random((60, 8, 8, 3))  # NHWC floats in [0, 1)
        x = (x * 255).round().astype(np.uint8) if kind == "uint8" else x
    registered(f"e2e-{kind}", from_arrays(x, y))
    rec = run(TrainConfig(dataset=f"e2e-{kind}", noise="symmetric:0.2", epochs=1,
                          batch_size=16, device="cpu"))
    assert rec["status"] == "ok"
    assert 0.0 <= rec["final"]["test_acc_last"] <= 1.0


def test_a_bundles_default_model_and_augment_drive_auto():
    import dataclasses

    from noisylabels.train import TrainConfig, run

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 3, 32, 32), dtype=np.uint8)
    ds = from_arrays(x, np.arange(40) % 2)
    assert (ds.default_model, ds.default_augment) == (None, None)  # rule by shape: seed-cnn
    cfg = TrainConfig(noise="clean", epochs=1, batch_size=16, device="cpu")
    mine = dataclasses.replace(ds, default_model="mlp", default_augment="flip")
    rec = run(cfg, dataset=mine)
    assert (rec["data"]["model"], rec["data"]["augment"]) == ("mlp", "flip")
    assert run(cfg, dataset=ds)["data"]["model"] == "seed-cnn"
