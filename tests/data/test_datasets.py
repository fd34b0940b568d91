"""load_dataset / dataset_info on embedded, generated and fake file datasets."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os

import numpy as np
import pytest
import torch

from noisylabels.data import (
    CIFAR100_CLASSES,
    CIFAR100_COARSE_CLASSES,
    CIFAR100_FINE_TO_COARSE,
    DATASETS,
    cifar100_coarse_labels,
    dataset_info,
    list_datasets,
    load_dataset,
    readers,
)
from noisylabels.data import cache as dcache
from noisylabels.data import datasets as dsets
from noisylabels.data.base import DatasetBundle
from noisylabels.errors import DataError, UsageError


def assert_bundle_ok(b: DatasetBundle, n_train: int, n_test: int, shape, k: int):
    assert b.x_train.shape == (n_train, *shape) and b.x_test.shape == (n_test, *shape)
    assert b.x_train.is_contiguous() and b.x_test.is_contiguous()
    assert b.y_train.dtype == torch.int64 and b.y_test.dtype == torch.int64
    assert b.y_train.shape == (n_train,) and b.y_test.shape == (n_test,)
    assert b.num_classes == k and len(b.mean) == len(b.std) == shape[0]


def float_stats(x: torch.Tensor):
    """Independent reference: float64 mean/std per channel on [0, 1]."""
    v = x.double().div(255).transpose(0, 1).reshape(x.shape[1], -1)
    return v.mean(1).tolist(), v.std(1, unbiased=False).tolist()


def test_registry_lists_all():
    assert list_datasets() == ["cifar10", "cifar100", "digits", "fashion-mnist", "mnist", "moons"]
    assert all(DATASETS.describe(n) for n in list_datasets())


def test_unknown_dataset_and_option():
    with pytest.raises(UsageError, match="unknown dataset 'cifar11'; choose one of: cifar10"):
        load_dataset("cifar11")
    with pytest.raises(UsageError, match="unknown option.*bogus.*valid options: test_fraction"):
        load_dataset("digits", bogus=1)
    with pytest.raises(UsageError, match="valid options: cache"):
        load_dataset("mnist", seed=0)


# -- digits --------------------------------------------------------------------------------------


def test_digits_shapes_values_and_split():
    from sklearn.datasets import load_digits

    d = load_digits()
    b = load_dataset("digits")
    counts = np.bincount(d.target)
    n_test = int(sum(round(0.2 * c) for c in counts))
    assert_bundle_ok(b, 1797 - n_test, n_test, (1, 8, 8), 10)
    assert b.x_train.dtype == torch.uint8 and int(b.x_train.max()) == 255
    # Per class exactly round(0.2 n_c) test images (stratified).
    assert torch.bincount(b.y_test, minlength=10).tolist() == [round(0.2 * c) for c in counts]
    # Train + test is exactly sklearn's set of (scaled image, label) pairs: nothing lost or shared.
    ref = np.rint(d.data * 255 / 16).astype(np.uint8)
    want = sorted((r.tobytes(), int(t)) for r, t in zip(ref, d.target, strict=True))
    x = torch.cat([b.x_train, b.x_test]).reshape(-1, 64).numpy()
    y = torch.cat([b.y_train, b.y_test]).tolist()
    assert sorted((r.tobytes(), t) for r, t in zip(x, y, strict=True)) == want
    mean, std = float_stats(b.x_train)
    assert b.mean == pytest.approx(mean, abs=1e-12) and b.std == pytest.approx(std, abs=1e-12)
    assert "load_digits" in b.source


def test_digits_deterministic_and_seeded():
    a, b = load_dataset("digits", seed=3), load_dataset("digits", seed=3)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    c = load_dataset("digits", seed=4)
    assert not torch.equal(a.x_test, c.x_test)
    assert len(load_dataset("digits", test_fraction=0.5).y_test) > 800


def test_digits_class_counts_constant_matches_sklearn():
    from sklearn.datasets import load_digits

    assert tuple(np.bincount(load_digits().target)) == dsets.DIGITS_CLASS_COUNTS
    info, b = dataset_info("digits"), load_dataset("digits")
    assert (info.n_train, info.n_test) == (len(b.y_train), len(b.y_test))


@pytest.mark.parametrize("frac", [0, 1, -0.1, 1.5, "0.2", True])
def test_digits_bad_fraction(frac):
    with pytest.raises(UsageError, match="test_fraction"):
        load_dataset("digits", test_fraction=frac)


# -- moons ---------------------------------------------------------------------------------------


def test_moons_shapes_and_balance():
    b = load_dataset("moons", n_train=101, n_test=40, noise=0.2, seed=1)
    assert b.x_train.dtype == torch.float32 and b.x_train.shape == (101, 2)
    assert b.x_test.shape == (40, 2) and b.input_shape == (2,) and not b.is_image
    assert torch.bincount(b.y_train).tolist() == [50, 51]
    assert torch.bincount(b.y_test).tolist() == [20, 20]
    x = b.x_train.double()
    assert b.mean == pytest.approx(x.mean(0).tolist()) and b.std == pytest.approx(
        x.std(0, unbiased=False).tolist())
    assert b.classes == ("upper", "lower")


def test_moons_deterministic_per_seed():
    a, b = load_dataset("moons", seed=7), load_dataset("moons", seed=7)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    c = load_dataset("moons", seed=8)
    assert not torch.equal(a.x_train, c.x_train)
    assert not torch.equal(a.x_train[:100], a.x_test[:100])


def test_moons_noiseless_points_lie_on_the_half_circles():
    b = load_dataset("moons", n_train=500, n_test=10, noise=0.0)
    x, y = b.x_train.double(), b.y_train
    up, lo = x[y == 0], x[y == 1]
    assert torch.allclose(up.pow(2).sum(1), torch.ones(len(up), dtype=torch.float64), atol=1e-6)
    assert (up[:, 1] >= -1e-6).all()
    d = (lo[:, 0] - 1) ** 2 + (lo[:, 1] - 0.5) ** 2
    assert torch.allclose(d, torch.ones(len(lo), dtype=torch.float64), atol=1e-6)
    assert (lo[:, 1] <= 0.5 + 1e-6).all()


def test_moons_noise_is_the_spread():
    b = load_dataset("moons", n_train=20000, n_test=2, noise=0.3, seed=0)
    x, y = b.x_train.double(), b.y_train
    r = x[y == 0].pow(2).sum(1).sqrt() - 1  # radial residual ~ N(0, 0.3) for small noise
    assert 0.25 < float(r.std()) < 0.35


@pytest.mark.parametrize(
    "opts", [{"n_train": 1}, {"n_test": 2.5}, {"noise": -1}, {"noise": math.nan},
             {"seed": -1}, {"seed": True}, {"n_train": "10"}],
)
def test_moons_bad_options(opts):
    with pytest.raises(UsageError, match="moons"):
        load_dataset("moons", **opts)


# -- CIFAR-100 coarse labels ---------------------------------------------------------------------

# The fine -> coarse map of the official CIFAR-100 batches, as widely republished
# (e.g. "sparse2coarse"); an independent reference for our name-based table.
_PUBLISHED_COARSE = [
    4, 1, 14, 8, 0, 6, 7, 7, 18, 3, 3, 14, 9, 18, 7, 11, 3, 9, 7, 11,
    6, 11, 5, 10, 7, 6, 13, 15, 3, 15, 0, 11, 1, 10, 12, 14, 16, 9, 11, 5,
    5, 19, 8, 8, 15, 13, 14, 17, 18, 10, 16, 4, 17, 4, 2, 0, 17, 4, 18, 17,
    10, 3, 2, 12, 12, 16, 12, 1, 9, 19, 2, 10, 0, 1, 16, 12, 9, 13, 15, 13,
    16, 19, 2, 4, 6, 19, 5, 5, 8, 19, 18, 1, 2, 15, 6, 0, 17, 8, 14, 13,
]  # fmt: skip


def test_cifar100_tables():
    assert len(CIFAR100_CLASSES) == 100 and len(set(CIFAR100_CLASSES)) == 100
    assert list(CIFAR100_CLASSES) == sorted(CIFAR100_CLASSES)
    assert CIFAR100_CLASSES[:3] == ("apple", "aquarium_fish", "baby")
    assert len(CIFAR100_COARSE_CLASSES) == 20
    assert list(CIFAR100_FINE_TO_COARSE) == _PUBLISHED_COARSE
    assert np.bincount(CIFAR100_FINE_TO_COARSE).tolist() == [5] * 20


def test_cifar100_coarse_labels():
    fine = torch.tensor([[0, 4], [99, 55]])
    out = cifar100_coarse_labels(fine)
    assert out.dtype == torch.int64 and out.tolist() == [[4, 0], [13, 0]]
    assert cifar100_coarse_labels(np.arange(100)).tolist() == _PUBLISHED_COARSE
    with pytest.raises(UsageError, match="0..99"):
        cifar100_coarse_labels([100])
    with pytest.raises(UsageError, match="integers"):
        cifar100_coarse_labels(torch.tensor([1.0]))


# -- file datasets from fake files ---------------------------------------------------------------


def test_cifar10_three_formats_agree(isolated, fakes):
    a = fakes.cifar_arrays()
    bundles = {}
    for fmt in ("npz", "folder", "tar"):
        root = isolated.tmp / fmt
        root.mkdir()
        if fmt == "npz":
            fakes.write_cifar_npz(root / "cifar10.npz", a)
        elif fmt == "folder":
            fakes.write_cifar10_folder(root, a)
        else:
            fakes.tar_folder(fakes.write_cifar10_folder(isolated.tmp / "src", a),
                             root / "cifar-10-python.tar.gz")
        bundles[fmt] = b = load_dataset("cifar10", root)
        assert_bundle_ok(b, 30, 6, (3, 32, 32), 10)
        assert b.x_train.dtype == torch.uint8
        np.testing.assert_array_equal(b.x_train.numpy(), a["x_train"])
        np.testing.assert_array_equal(b.y_train.numpy(), a["y_train"])
        np.testing.assert_array_equal(b.x_test.numpy(), a["x_test"])
        np.testing.assert_array_equal(b.y_test.numpy(), a["y_test"])
        mean, std = float_stats(b.x_train)
        assert b.mean == pytest.approx(mean, abs=1e-12) and b.std == pytest.approx(std, abs=1e-12)
        assert b.classes[0] == "airplane" and b.is_image
    assert bundles["npz"].source.endswith("cifar10.npz")
    assert bundles["folder"].source.endswith("cifar-10-batches-py")
    assert bundles["tar"].source.endswith("cifar-10-python.tar.gz")


def test_cifar100_folder_and_tar(isolated, fakes):
    a = fakes.cifar_arrays(n_per_batch=20, n_batches=1, classes=100)
    folder = fakes.write_cifar100_folder(isolated.root / "cifar100", a, CIFAR100_FINE_TO_COARSE)
    b = load_dataset("cifar100", isolated.root)
    assert_bundle_ok(b, 20, 20, (3, 32, 32), 100)
    assert b.source == str(folder)
    np.testing.assert_array_equal(b.y_train.numpy(), a["y_train"])
    other = isolated.tmp / "other"
    other.mkdir()
    fakes.tar_folder(folder, other / "cifar-100-python.tar.gz")
    t = load_dataset("cifar100", other)
    assert torch.equal(t.x_train, b.x_train) and torch.equal(t.y_test, b.y_test)


def test_cifar100_inconsistent_coarse_labels(isolated, fakes):
    a = fakes.cifar_arrays(n_per_batch=20, n_batches=1, classes=100)
    wrong = [(c + 1) % 20 for c in CIFAR100_FINE_TO_COARSE]
    fakes.write_cifar100_folder(isolated.root, a, wrong)
    with pytest.raises(DataError, match="coarse labels disagree"):
        load_dataset("cifar100", isolated.root)


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_idx_in_named_subfolder(isolated, fakes, gz):
    a = fakes.mnist_arrays()
    fakes.write_mnist_idx(isolated.root / "mnist", a, gz=gz)
    b = load_dataset("mnist", isolated.root)
    assert_bundle_ok(b, 30, 12, (1, 28, 28), 10)
    np.testing.assert_array_equal(b.x_train[:, 0].numpy(), a["x_train"])
    np.testing.assert_array_equal(b.y_test.numpy(), a["y_test"])
    assert b.source == str(isolated.root / "mnist")


def test_idx_files_at_top_level_only_for_explicit_root(isolated, fakes, monkeypatch):
    a = fakes.mnist_arrays()
    fakes.write_mnist_idx(isolated.root, a)
    # An explicit root may hold the idx files directly ...
    assert load_dataset("fashion-mnist", isolated.root, download=False).source == str(
        isolated.root)
    # ... but in a shared folder they could be MNIST or Fashion-MNIST: not guessed.
    monkeypatch.setenv("NOISYLABELS_DATA", str(isolated.root))
    with pytest.raises(DataError, match="not found"):
        load_dataset("mnist", download=False)


def test_fashion_mnist_debian_layout(isolated, fakes):
    a = fakes.mnist_arrays(seed=5)
    fakes.write_mnist_idx(isolated.debian / "fashion-mnist", a)
    b = load_dataset("fashion-mnist")
    assert b.source == str(isolated.debian / "fashion-mnist")
    assert b.classes[9] == "Ankle boot"
    np.testing.assert_array_equal(b.x_test[:, 0].numpy(), a["x_test"])


def test_mnist_npz_grey_layout(isolated, fakes):
    a = fakes.mnist_arrays()
    np.savez_compressed(isolated.root / "mnist.npz", **a)
    b = load_dataset("mnist", isolated.root)
    assert b.x_train.shape == (30, 1, 28, 28)
    mean, std = float_stats(b.x_train)
    assert b.mean == pytest.approx(mean, abs=1e-12) and b.std == pytest.approx(std, abs=1e-12)


def test_wrong_shape_and_label_range_are_data_errors(isolated, fakes):
    np.savez(isolated.root / "cifar10.npz", **fakes.mnist_arrays())  # MNIST under a CIFAR name
    with pytest.raises(DataError, match=r"uint8 of shape \(N, 3, 32, 32\) for cifar10"):
        load_dataset("cifar10", isolated.root)
    a = fakes.mnist_arrays()
    a["y_train"][3] = 10
    np.savez(isolated.root / "mnist.npz", **a)
    with pytest.raises(DataError, match="outside 0..9"):
        load_dataset("mnist", isolated.root)


def test_truncated_idx_through_load_dataset(isolated, fakes):
    folder = fakes.write_mnist_idx(isolated.root / "mnist", fakes.mnist_arrays())
    p = folder / "train-images-idx3-ubyte.gz"
    p.write_bytes(p.read_bytes()[:-50])
    with pytest.raises(DataError) as e:
        load_dataset("mnist", isolated.root)
    assert str(p) in str(e.value)


def test_image_label_count_mismatch(isolated, fakes):
    a = fakes.mnist_arrays()
    folder = fakes.write_mnist_idx(isolated.root / "mnist", a)
    fakes.write_idx(folder / "t10k-labels-idx1-ubyte.gz", a["y_test"][:5], gz=True)
    with pytest.raises(DataError, match="12 images but 5 labels"):
        load_dataset("mnist", isolated.root)


# -- search order --------------------------------------------------------------------------------


def _distinct_npz(fakes, path, seed):
    a = fakes.cifar_arrays(seed=seed)
    fakes.write_cifar_npz(path, a)
    return a


def test_search_precedence(isolated, fakes, monkeypatch):
    env1, env2 = isolated.tmp / "env1", isolated.tmp / "env2"
    places = {
        "root": isolated.root / "cifar10.npz",
        "env1": env1 / "cifar10" / "cifar10.npz",  # in the subfolder named after the dataset
        "env2": env2 / "cifar10.npz",
        "cache": isolated.cache / "cifar10.npz",
        "debian": isolated.debian / "cifar10.npz",
    }
    for i, p in enumerate(places.values()):
        _distinct_npz(fakes, p, seed=i)
    monkeypatch.setenv("NOISYLABELS_DATA", os.pathsep.join([str(env1), str(env2)]))
    order = list(places)
    for name in order:
        root = isolated.root if name == "root" else None
        b = load_dataset("cifar10", root, download=False)
        assert b.source == str(places[name]), name
        assert dataset_info("cifar10", root).location == str(places[name])
        places[name].unlink()


def test_npz_preferred_over_official_files_in_the_same_folder(isolated, fakes):
    a = fakes.cifar_arrays()
    fakes.write_cifar10_folder(isolated.root, a)
    fakes.write_cifar_npz(isolated.root / "cifar10.npz", a)
    assert load_dataset("cifar10", isolated.root).source.endswith("cifar10.npz")


# -- not found, downloads ------------------------------------------------------------------------


def test_offline_message_lists_every_folder_and_the_fixes(isolated, monkeypatch):
    env = isolated.tmp / "envdir"
    monkeypatch.setenv("NOISYLABELS_DATA", str(env))
    with pytest.raises(DataError) as e:
        load_dataset("cifar10", isolated.root)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith("dataset 'cifar10' not found (download failed: ")
    assert "network disabled in tests" in msg
    for d, tag in [(isolated.root, "root"), (env, "NOISYLABELS_DATA, missing"),
                   (isolated.cache, "user cache, missing"), (isolated.debian, "Debian")]:
        assert f"{d} ({tag}" in msg
    for needed in ("cifar10.npz", "cifar-10-batches-py/", "cifar-10-python.tar.gz",
                   "set NOISYLABELS_DATA=DIR", "root=DIR", "--root DIR",
                   "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"):
        assert needed in msg
    assert not any(isolated.cache.rglob("*.part"))


def test_offline_fashion_mnist_mentions_debian_package(isolated):
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist")


def test_download_false_does_not_try(isolated, serve):
    calls = serve({})
    with pytest.raises(DataError, match=r"download=False.*train-images-idx3-ubyte\[\.gz\]"):
        load_dataset("mnist", download=False)
    assert calls == []


def test_incomplete_folder_is_reported(isolated, fakes):
    folder = fakes.write_cifar10_folder(isolated.root, fakes.cifar_arrays())
    (folder / "data_batch_2").unlink()
    with pytest.raises(DataError, match=r"Incomplete copies: .*cifar-10-batches-py lacks "
                                         r"data_batch_2"):
        load_dataset("cifar10", isolated.root, download=False)
    info = dataset_info("cifar10", isolated.root)
    assert not info.found and "data_batch_2" in info.problem


def test_download_then_load(isolated, fakes, serve):
    a = fakes.cifar_arrays()
    archive = fakes.tar_folder(fakes.write_cifar10_folder(isolated.tmp / "src", a),
                               isolated.tmp / "served.tar.gz")
    blob = archive.read_bytes()
    spec = DATASETS.get("cifar10")
    res = dataclasses.replace(spec.resources[0], md5=hashlib.md5(blob).hexdigest())
    spec = dataclasses.replace(spec, resources=(res,))
    calls = serve({res.urls[0]: blob})
    b = spec(isolated.root)
    dest = isolated.cache / "cifar10" / "cifar-10-python.tar.gz"
    assert b.source == str(dest) and dest.read_bytes() == blob
    np.testing.assert_array_equal(b.y_train.numpy(), a["y_train"])
    assert calls == [res.urls[0]]
    spec(isolated.root)  # now found in the cache: no second download
    assert len(calls) == 1


def test_download_checksum_mismatch_through_load(isolated, serve):
    spec = DATASETS.get("cifar100")
    serve({spec.resources[0].urls[0]: b"not the archive"})
    with pytest.raises(DataError) as e:
        load_dataset("cifar100", isolated.root)
    msg = str(e.value)
    assert "checksum mismatch for cifar-100-python.tar.gz" in msg
    assert "eb9058c3a382ffc7106e4002c42a8d85" in msg
    assert hashlib.md5(b"not the archive").hexdigest() in msg
    assert not (isolated.cache / "cifar100").exists() or not any(
        (isolated.cache / "cifar100").iterdir())


def test_mnist_download_uses_mirrors_and_fills_the_cache(isolated, fakes, serve):
    spec = DATASETS.get("mnist")
    a = fakes.mnist_arrays()
    table, resources = {}, []
    for res in spec.resources:
        key = next(k for k, s in fakes.IDX_STEMS.items() if res.filename.startswith(s))
        blob = __import__("gzip").compress(fakes.idx_bytes(a[key]))
        resources.append(dataclasses.replace(res, md5=hashlib.md5(blob).hexdigest()))
        table[res.urls[1]] = blob  # first mirror unreachable, second serves
    calls = serve(table)
    b = dataclasses.replace(spec, resources=tuple(resources))()
    assert b.source == str(isolated.cache / "mnist")
    np.testing.assert_array_equal(b.y_train.numpy(), a["y_train"])
    assert len(calls) == 8


# -- decoded cache -------------------------------------------------------------------------------


def test_cache_makes_second_load_skip_decoding(isolated, fakes, monkeypatch):
    a = fakes.cifar_arrays()
    p = fakes.write_cifar_npz(isolated.root / "cifar10.npz", a)
    first = load_dataset("cifar10", isolated.root)
    entries = list((isolated.cache / "decoded").iterdir())
    assert len(entries) == 1 and entries[0].name.startswith("cifar10-")

    def boom(*args, **kw):
        raise AssertionError("decoded again")

    with monkeypatch.context() as m:
        m.setattr(readers, "read_npz", boom)
        second = load_dataset("cifar10", isolated.root)
    for f in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(getattr(first, f), getattr(second, f))
    assert second.mean == first.mean and second.std == first.std
    assert second.source == first.source
    # A changed source file gets a new entry and the stale one goes.
    fakes.write_cifar_npz(p, fakes.cifar_arrays(seed=9))
    os.utime(p, ns=(1, 1))
    third = load_dataset("cifar10", isolated.root)
    assert not torch.equal(third.x_train, first.x_train)
    now = list((isolated.cache / "decoded").iterdir())
    assert len(now) == 1 and now[0] != entries[0]


def test_damaged_cache_entry_is_rebuilt(isolated, fakes):
    fakes.write_cifar_npz(isolated.root / "cifar10.npz", fakes.cifar_arrays())
    ref = load_dataset("cifar10", isolated.root)
    (entry,) = (isolated.cache / "decoded").iterdir()
    x = entry / "x_train.npy"
    x.write_bytes(x.read_bytes()[:-1000])
    again = load_dataset("cifar10", isolated.root)
    assert torch.equal(again.x_train, ref.x_train)
    assert np.load(entry / "x_train.npy").shape == (30, 3, 32, 32)


def test_cache_can_be_disabled(isolated, fakes):
    fakes.write_cifar_npz(isolated.root / "cifar10.npz", fakes.cifar_arrays())
    load_dataset("cifar10", isolated.root, cache=False)
    assert not (isolated.cache / "decoded").exists()


def test_unwritable_cache_only_warns(isolated, fakes, monkeypatch):
    fakes.write_cifar_npz(isolated.root / "cifar10.npz", fakes.cifar_arrays())

    def fail(*a, **k):
        raise OSError("read-only file system")

    monkeypatch.setattr(dcache, "_write_entry", fail)
    with pytest.warns(RuntimeWarning, match="could not cache decoded cifar10"):
        b = load_dataset("cifar10", isolated.root)
    assert b.x_train.shape == (30, 3, 32, 32)


def test_channel_stats_exact_against_float_reference():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (9000, 3, 5, 4), dtype=np.uint8)
    mean, std = dcache.channel_stats(x, chunk=1000)
    ref_m, ref_s = float_stats(torch.from_numpy(x))
    assert mean == pytest.approx(ref_m, abs=1e-12) and std == pytest.approx(ref_s, abs=1e-12)


# -- dataset_info --------------------------------------------------------------------------------


def test_info_reads_headers(isolated, fakes):
    fakes.write_cifar_npz(isolated.root / "cifar10.npz", fakes.cifar_arrays())
    fakes.write_mnist_idx(isolated.root / "mnist", fakes.mnist_arrays())
    fakes.write_cifar100_folder(isolated.root,
                                fakes.cifar_arrays(n_batches=1, classes=100),
                                CIFAR100_FINE_TO_COARSE)
    c10 = dataset_info("cifar10", isolated.root)
    assert (c10.found, c10.format, c10.n_train, c10.n_test) == (True, "npz", 30, 6)
    mn = dataset_info("mnist", isolated.root)
    assert (mn.format, mn.n_train, mn.n_test, mn.input_shape) == ("idx", 30, 12, (1, 28, 28))
    c100 = dataset_info("cifar100", isolated.root)
    assert (c100.format, c100.n_train, c100.num_classes) == ("cifar-folder", 50000, 100)
    fm = dataset_info("fashion-mnist", isolated.root)
    assert not fm.found and fm.location is None and fm.download_urls
    mo = dataset_info("moons")
    assert (mo.found, mo.n_train, mo.input_shape) == (True, 1000, (2,))


def test_info_reports_a_broken_file(isolated):
    (isolated.root / "cifar10.npz").write_bytes(b"garbage")
    info = dataset_info("cifar10", isolated.root)
    assert info.found and info.n_train is None and "cifar10.npz" in info.problem


def test_dataset_facts_live_on_the_spec_and_match_the_shape_rules():
    # The default model and augmentation each built-in names must be what the rule by input
    # shape gives, so moving the facts onto the specs changes no run.
    from noisylabels.data import DATASETS
    from noisylabels.models import auto_model

    for name in DATASETS.names():
        spec = DATASETS.get(name)
        shape = getattr(spec, "image_shape", None) or spec.input_shape
        assert spec.default_model == auto_model(shape), name
        rule = "crop+flip" if len(shape) == 3 and tuple(shape[1:]) == (32, 32) else "none"
        assert spec.default_augment == rule, name
    ds = load_dataset("digits")
    assert (ds.default_model, ds.default_augment) == ("mlp", "none")
