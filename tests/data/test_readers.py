"""Readers on small files the tests write themselves."""

from __future__ import annotations

import gzip
import os
import pickle
import zipfile

import numpy as np
import pytest

from noisylabels.data import readers
from noisylabels.errors import DataError

# -- idx -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_idx_roundtrip(tmp_path, fakes, gz):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (7, 5, 4), dtype=np.uint8)
    p = fakes.write_idx(tmp_path / "img-idx3-ubyte", images, gz=gz)
    out = readers.read_idx(p)
    assert out.dtype == np.uint8 and out.shape == (7, 5, 4)
    np.testing.assert_array_equal(out, images)
    assert readers.read_idx_header(p) == (np.dtype(np.uint8), (7, 5, 4))


def test_idx_big_endian_int32_becomes_native(tmp_path, fakes):
    vals = np.array([1, -2, 70000, 2**31 - 1], dtype=np.int32)
    out = readers.read_idx(fakes.write_idx(tmp_path / "v", vals.astype(">i4")))
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, vals)


def test_idx_gzip_detected_by_content_not_name(tmp_path, fakes):
    labels = np.arange(10, dtype=np.uint8)
    p = tmp_path / "labels-without-gz-suffix"
    p.write_bytes(gzip.compress(fakes.idx_bytes(labels)))
    np.testing.assert_array_equal(readers.read_idx(p), labels)


@pytest.mark.parametrize("magic", [b"\x00\x00\x08", b"\x01\x00\x08\x01", b"\x00\x00\x07\x01",
                                   b"\x00\x00\x08\x00", b""])
def test_idx_bad_magic(tmp_path, magic):
    p = tmp_path / "bad-idx1-ubyte"
    p.write_bytes(magic + b"\x00" * 8 if len(magic) == 4 else magic)
    with pytest.raises(DataError, match="bad magic number") as e:
        readers.read_idx(p)
    assert str(p) in str(e.value)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_truncated_data_names_file(tmp_path, fakes, gz):
    data = fakes.idx_bytes(np.zeros((10, 28, 28), np.uint8))[:-100]
    p = tmp_path / ("t-idx3-ubyte" + (".gz" if gz else ""))
    p.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(DataError, match="truncated") as e:
        readers.read_idx(p)
    assert str(p) in str(e.value)


def test_idx_truncated_header(tmp_path, fakes):
    p = tmp_path / "h"
    p.write_bytes(fakes.idx_bytes(np.zeros((3, 4, 5), np.uint8))[:9])
    with pytest.raises(DataError, match="header is truncated"):
        readers.read_idx(p)


def test_idx_trailing_bytes_rejected(tmp_path, fakes):
    p = tmp_path / "long"
    p.write_bytes(fakes.idx_bytes(np.zeros(5, np.uint8)) + b"\x00")
    with pytest.raises(DataError, match="longer than its header"):
        readers.read_idx(p)


def test_idx_cut_gzip_stream(tmp_path, fakes):
    rng = np.random.default_rng(0)
    blob = gzip.compress(fakes.idx_bytes(rng.integers(0, 256, (50, 28, 28), dtype=np.uint8)))
    p = tmp_path / "cut.gz"
    p.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError) as e:
        readers.read_idx(p)
    assert str(p) in str(e.value)


def test_idx_forged_huge_header_is_an_error_not_an_allocation(tmp_path):
    p = tmp_path / "forged"
    p.write_bytes(b"\x00\x00\x08\x03" + (0xFFFFFFFF).to_bytes(4, "big") * 3 + b"\x00" * 64)
    with pytest.raises(DataError, match="truncated"):
        readers.read_idx(p)


def test_idx_header_reads_only_the_header(tmp_path, fakes):
    # The data part is cut off: the full reader refuses it, the header reader does not care.
    p = tmp_path / "x"
    p.write_bytes(fakes.idx_bytes(np.zeros((60, 28, 28), np.uint8))[:100])
    assert readers.read_idx_header(p)[1] == (60, 28, 28)
    with pytest.raises(DataError):
        readers.read_idx(p)


def test_idx_missing_file(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        readers.read_idx(tmp_path / "nope")


# -- CIFAR batches -------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["py2", "2", "4", "5"])
def test_cifar_batch_decodes(fakes, style):
    a = fakes.cifar_arrays()
    batch = {"labels": a["y_test"].tolist(), "data": a["x_test"].reshape(6, -1), "batch_label": "t"}
    out = readers.read_cifar_batch(fakes.cifar_batch_bytes(batch, style), "test_batch")
    assert out["x"].shape == (6, 3, 32, 32) and out["x"].flags.c_contiguous
    np.testing.assert_array_equal(out["x"], a["x_test"])
    assert out["labels"].dtype == np.int64
    np.testing.assert_array_equal(out["labels"], a["y_test"])


def test_cifar_row_layout_is_red_green_blue_planes(fakes):
    # An official row holds 1024 red values, then green, then blue, each row-major 32x32.
    row = np.concatenate([np.full(1024, 10), np.full(1024, 20), np.arange(1024) % 256])
    batch = {"labels": [3], "data": row.astype(np.uint8)[None]}
    x = readers.read_cifar_batch(fakes.cifar_batch_bytes(batch, "py2"), "b")["x"][0]
    assert (x[0] == 10).all() and (x[1] == 20).all()
    assert x[2, 0, 5] == 5 and x[2, 1, 0] == 32  # row-major within the plane


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _EvalEvil:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


@pytest.mark.parametrize("protocol", [2, 4])
def test_cifar_malicious_global_refused_before_running(tmp_path, protocol):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"data": _Evil(marker), "labels": [1]}, protocol=protocol)
    with pytest.raises(DataError, match=r"refusing to unpickle evil_batch: .*system"):
        readers.read_cifar_batch(payload, "evil_batch")
    assert not marker.exists()


def test_cifar_eval_global_refused():
    payload = pickle.dumps({"data": _EvalEvil(), "labels": []})
    with pytest.raises(DataError, match=r"builtins\.eval"):
        readers.read_cifar_batch(payload, "b")


def test_cifar_unpickler_refuses_classes_too():
    payload = pickle.dumps({"data": zipfile.ZipInfo("x"), "labels": []})
    with pytest.raises(DataError, match="zipfile.ZipInfo"):
        readers.read_cifar_batch(payload, "b")


@pytest.mark.parametrize(
    ("obj", "match"),
    [
        ([1, 2, 3], "holds a list"),
        ({"data": np.zeros((2, 3072), np.uint8)}, "missing labels"),
        ({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}, r"shape \(N, 3072\)"),
        ({"data": np.zeros((2, 3072), np.float32), "labels": [0, 1]}, "uint8"),
        ({"data": np.zeros((2, 3072), np.uint8), "labels": [0]}, "must be 2 integers"),
        ({"data": np.zeros((2, 3072), np.uint8), "labels": ["a", "b"]}, "integers"),
    ],
)
def test_cifar_batch_wrong_content(obj, match):
    with pytest.raises(DataError, match=match):
        readers.read_cifar_batch(pickle.dumps(obj, protocol=2), "b")


@pytest.mark.parametrize("blob", [b"", b"garbage bytes", b"\x80\x02}q\x00(U\x04data"])
def test_cifar_batch_damaged(blob):
    with pytest.raises(DataError, match="cannot unpickle b"):
        readers.read_cifar_batch(blob, "b")


def test_cifar_truncated_array_payload(fakes):
    batch = {"labels": [0, 1], "data": np.zeros((2, 3072), np.uint8)}
    blob = fakes.cifar_batch_bytes(batch, "py2")
    with pytest.raises(DataError):
        readers.read_cifar_batch(blob[: len(blob) // 2], "half")


def test_cifar_tar_missing_member(tmp_path, fakes):
    a = fakes.cifar_arrays()
    folder = fakes.write_cifar10_folder(tmp_path / "src", a)
    (folder / "data_batch_3").unlink()
    archive = fakes.tar_folder(folder, tmp_path / "c.tar.gz")
    members = [f"data_batch_{i}" for i in range(1, 6)]
    with pytest.raises(DataError, match="lacks cifar-10-batches-py/data_batch_3"):
        readers.read_cifar_tar(archive, "cifar-10-batches-py", members, ("labels",))


def test_cifar_tar_truncated(tmp_path, fakes):
    folder = fakes.write_cifar10_folder(tmp_path / "src", fakes.cifar_arrays())
    archive = fakes.tar_folder(folder, tmp_path / "c.tar.gz")
    archive.write_bytes(archive.read_bytes()[:-5000])
    with pytest.raises(DataError) as e:
        readers.read_cifar_tar(archive, "cifar-10-batches-py", ["test_batch"], ("labels",))
    assert str(archive) in str(e.value)


# -- npz -----------------------------------------------------------------------------------------


def test_npz_read_and_headers(tmp_path):
    p = tmp_path / "a.npz"
    np.savez_compressed(p, x=np.arange(12, dtype=np.uint8).reshape(3, 4), y=np.ones(3, np.int16))
    out = readers.read_npz(p, ["x", "y"])
    np.testing.assert_array_equal(out["x"], np.arange(12).reshape(3, 4))
    heads = readers.npz_headers(p)
    assert heads["x"] == ((3, 4), np.dtype(np.uint8)) and heads["y"][0] == (3,)


def test_npz_keeps_layout_dtype_and_is_writable(tmp_path):
    p = tmp_path / "a.npz"
    f = np.asfortranarray(np.arange(24, dtype=">i4").reshape(2, 3, 4))
    np.savez_compressed(p, f=f, s=np.float64(2.5), e=np.zeros((0, 3), np.float32))
    out = readers.read_npz(p, ["f", "s", "e"])
    np.testing.assert_array_equal(out["f"], f)
    assert out["f"].dtype == np.dtype(">i4") and out["f"].flags.f_contiguous
    assert out["s"].shape == () and out["s"] == 2.5 and out["e"].shape == (0, 3)
    out["f"][0, 0, 0] = 7  # decoded arrays are ordinary, writable arrays


def test_npz_headers_are_parsed_one_thread_at_a_time(tmp_path, monkeypatch):
    # CPython 3.11's ast.literal_eval (numpy's header parser) is not thread-safe; members are
    # decoded in threads, so header parsing must never overlap.
    import ast
    import threading
    import time

    p = tmp_path / "many.npz"
    np.savez_compressed(p, **{f"k{i}": np.full(5, i, np.uint8) for i in range(8)})
    real, lock, state = ast.literal_eval, threading.Lock(), {"now": 0, "most": 0}

    def slow_literal_eval(text):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.01)
        with lock:
            state["now"] -= 1
        return real(text)

    monkeypatch.setattr(ast, "literal_eval", slow_literal_eval)
    out = readers.read_npz(p, [f"k{i}" for i in range(8)])
    assert [int(out[f"k{i}"][0]) for i in range(8)] == list(range(8))
    assert state["most"] == 1


def test_npz_member_shorter_than_its_header(tmp_path):
    p = tmp_path / "short.npz"
    np.savez(p, x=np.zeros(10, np.uint8))
    with zipfile.ZipFile(p) as zf:
        blob = zf.read("x.npy")
    with zipfile.ZipFile(p, "w") as zf:  # a consistent zip (good CRC) holding too little data
        zf.writestr("x.npy", blob[:-4])
    with pytest.raises(DataError, match="header says 10"):
        readers.read_npz(p, ["x"])


def test_npz_missing_key(tmp_path):
    p = tmp_path / "a.npz"
    np.savez(p, x=np.zeros(3))
    with pytest.raises(DataError, match="lacks the arrays y"):
        readers.read_npz(p, ["x", "y"])


def test_npz_object_array_refused(tmp_path):
    p = tmp_path / "obj.npz"
    np.savez(p, x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataError, match=str(p)):
        readers.read_npz(p, ["x"])


def test_npz_truncated(tmp_path):
    p = tmp_path / "t.npz"
    np.savez_compressed(p, x=np.random.default_rng(0).integers(0, 255, 50000, dtype=np.uint8))
    p.write_bytes(p.read_bytes()[:-2000])
    with pytest.raises(DataError, match="corrupt or truncated") as e:
        readers.read_npz(p, ["x"])
    assert str(p) in str(e.value)
    with pytest.raises(DataError):
        readers.npz_headers(p)


def test_npz_flipped_byte_fails_crc(tmp_path):
    p = tmp_path / "c.npz"
    np.savez(p, x=np.zeros(10000, np.uint8))  # stored, so a flipped byte stays decodable
    blob = bytearray(p.read_bytes())
    blob[5000] ^= 0xFF
    p.write_bytes(bytes(blob))
    with pytest.raises(DataError, match=str(p)):
        readers.read_npz(p, ["x"])


def test_npz_not_a_zip(tmp_path):
    p = tmp_path / "n.npz"
    p.write_bytes(b"this is not a zip file")
    with pytest.raises(DataError, match=str(p)):
        readers.read_npz(p, ["x"])
