"""Fixtures for the data tests: no network, isolated search folders, and fake dataset files."""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
import urllib.error
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from noisylabels.data import download as dl
from noisylabels.data import paths


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Every download attempt fails as it would offline; tests that need one patch their own."""

    def offline(url, timeout):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(dl, "urlopen", offline)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Empty search folders: no NOISYLABELS_DATA, a fresh user cache, no Debian datasets."""
    monkeypatch.delenv(paths.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(paths, "DEBIAN_DIR", tmp_path / "debian")
    root = tmp_path / "root"
    root.mkdir()
    return SimpleNamespace(
        tmp=tmp_path, root=root, cache=tmp_path / "xdg" / "noisylabels", debian=tmp_path / "debian"
    )


# -- idx -----------------------------------------------------------------------------------------

_IDX_CODE = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C, np.dtype(np.int8): 0x09}


def idx_bytes(a: np.ndarray) -> bytes:
    a = np.asarray(a)
    dt = a.dtype if a.dtype.itemsize == 1 else a.dtype.newbyteorder(">")
    head = bytes([0, 0, _IDX_CODE[np.dtype(dt)], a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    return head + a.astype(dt).tobytes()


def write_idx(path: Path, a: np.ndarray, gz: bool = False) -> Path:
    data = idx_bytes(a)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def mnist_arrays(n_train: int = 30, n_test: int = 12, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": np.arange(n_train, dtype=np.uint8) % 10,
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(n_test, dtype=np.uint8) * 3) % 10,
    }


IDX_STEMS = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def write_mnist_idx(folder: Path, arrays: dict[str, np.ndarray], gz: bool = True) -> Path:
    for key, stem in IDX_STEMS.items():
        write_idx(folder / (stem + (".gz" if gz else "")), arrays[key], gz=gz)
    return folder


# -- CIFAR ---------------------------------------------------------------------------------------


class Py2StylePickler(pickle._Pickler):
    """Writes bytes as Python 2 ``str`` (BINSTRING), as the official CIFAR batches were written."""

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_bytes_py2(self, obj):
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_bytes_py2


def cifar_batch_bytes(batch: dict, style: str = "py2") -> bytes:
    """Pickle a batch dict; ``py2`` mimics the official files (numpy.core path, str data)."""
    if style == "py2":
        buf = io.BytesIO()
        Py2StylePickler(buf, protocol=2).dump({k.encode(): v for k, v in batch.items()})
        data = buf.getvalue()
        # numpy 1.x under Python 2 named the module numpy.core.multiarray.
        return data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    return pickle.dumps(batch, protocol=int(style))


def cifar_arrays(n_per_batch: int = 6, n_batches: int = 5, classes: int = 10, seed: int = 0):
    """Random images (N, 3, 32, 32) and labels for train (n_batches batches) and test."""
    rng = np.random.default_rng(seed)
    n_tr = n_per_batch * n_batches
    return {
        "x_train": rng.integers(0, 256, (n_tr, 3, 32, 32), dtype=np.uint8),
        "y_train": rng.integers(0, classes, n_tr).astype(np.int64),
        "x_test": rng.integers(0, 256, (n_per_batch, 3, 32, 32), dtype=np.uint8),
        "y_test": rng.integers(0, classes, n_per_batch).astype(np.int64),
    }


def write_cifar10_folder(base: Path, arrays, style: str = "py2") -> Path:
    folder = base / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    n = len(arrays["x_test"])
    for i in range(5):
        sl = slice(i * n, (i + 1) * n)
        batch = {
            "batch_label": f"training batch {i + 1} of 5",
            "labels": arrays["y_train"][sl].tolist(),
            "data": arrays["x_train"][sl].reshape(n, -1),
            "filenames": [f"img_{j}.png" for j in range(n)],
        }
        (folder / f"data_batch_{i + 1}").write_bytes(cifar_batch_bytes(batch, style))
    test = {"batch_label": "testing batch 1 of 1", "labels": arrays["y_test"].tolist(),
            "data": arrays["x_test"].reshape(n, -1)}
    (folder / "test_batch").write_bytes(cifar_batch_bytes(test, style))
    (folder / "batches.meta").write_bytes(cifar_batch_bytes({"label_names": ["a"] * 10}, style))
    return folder


def write_cifar100_folder(base: Path, arrays, coarse_table, style: str = "py2") -> Path:
    folder = base / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    for split, name in (("train", "train"), ("test", "test")):
        fine = arrays[f"y_{split}"]
        batch = {
            "fine_labels": fine.tolist(),
            "coarse_labels": np.asarray(coarse_table)[fine].tolist(),
            "data": arrays[f"x_{split}"].reshape(len(fine), -1),
        }
        (folder / name).write_bytes(cifar_batch_bytes(batch, style))
    return folder


def tar_folder(folder: Path, archive: Path) -> Path:
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return archive


def write_cifar_npz(path: Path, arrays, **extra) -> Path:
    """The shared-data layout: HWC uint8 images, uint8 labels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        x_train=arrays["x_train"].transpose(0, 2, 3, 1),
        y_train=arrays["y_train"].astype(np.uint8),
        x_test=arrays["x_test"].transpose(0, 2, 3, 1),
        y_test=arrays["y_test"].astype(np.uint8),
        **extra,
    )
    return path


@pytest.fixture
def fakes():
    return SimpleNamespace(
        idx_bytes=idx_bytes,
        write_idx=write_idx,
        mnist_arrays=mnist_arrays,
        write_mnist_idx=write_mnist_idx,
        IDX_STEMS=IDX_STEMS,
        cifar_batch_bytes=cifar_batch_bytes,
        cifar_arrays=cifar_arrays,
        write_cifar10_folder=write_cifar10_folder,
        write_cifar100_folder=write_cifar100_folder,
        tar_folder=tar_folder,
        write_cifar_npz=write_cifar_npz,
    )


class FakeResponse(io.BytesIO):
    """What ``urlopen`` returns: a readable stream with headers."""

    def __init__(self, data: bytes, length: int | None = None) -> None:
        super().__init__(data)
        n = len(data) if length is None else length
        self.headers = {"Content-Length": str(n)}


@pytest.fixture
def serve(monkeypatch):
    """``serve({url: bytes | (bytes, content_length) | Exception})`` fakes the network."""
    calls: list[str] = []

    def install(table: dict):
        def fake_urlopen(url, timeout):
            calls.append(url)
            item = table.get(url, urllib.error.URLError(f"no route to {url}"))
            if isinstance(item, BaseException):
                raise item
            return FakeResponse(item) if isinstance(item, bytes) else FakeResponse(*item)

        monkeypatch.setattr(dl, "urlopen", fake_urlopen)
        return calls

    return install
