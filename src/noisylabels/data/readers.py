"""Readers for the official dataset file formats, strict about what they accept.

* idx files (MNIST, Fashion-MNIST), gzipped or plain: magic number, dimensions and byte count are
  checked, so a truncated or padded file is an error, never a short array.
* CIFAR python batches (in a folder or inside the official ``.tar.gz``), unpickled with an
  allow-list :class:`CifarUnpickler` that can only rebuild numpy arrays: a batch that names any
  other global (``os.system``, ``builtins.eval``, ...) is refused before anything runs.
* ``.npz`` archives, opened with ``allow_pickle=False``.

Every failure is a :class:`~noisylabels.errors.DataError` that names the file.
"""

from __future__ import annotations

import codecs
import gzip
import io
import lzma
import math
import os
import pickle
import struct
import tarfile
import threading
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from noisylabels.errors import DataError

# Errors the standard library raises on damaged archives and streams.
_READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    tarfile.TarError,
    struct.error,
)

_DAMAGED_HINT = "the file is corrupt or truncated; copy or download it again"

# ---------------------------------------------------------------------------------------------
# idx (MNIST, Fashion-MNIST)
# ---------------------------------------------------------------------------------------------

# Third byte of the idx magic number -> big-endian element type (LeCun's MNIST page).
_IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _open_maybe_gzip(path: Path) -> BinaryIO:
    """Open ``path`` for reading, through gzip when it starts with the gzip magic bytes."""
    f = open(path, "rb")  # closed by the caller
    try:
        gz = f.read(2) == b"\x1f\x8b"
        f.seek(0)
    except OSError:
        f.close()
        raise
    return gzip.GzipFile(fileobj=f, mode="rb") if gz else f  # type: ignore[return-value]


def _read_idx_head(f: BinaryIO, path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    magic = f.read(4)
    if len(magic) < 4 or magic[:2] != b"\x00\x00" or magic[2] not in _IDX_TYPES or magic[3] == 0:
        raise DataError(
            f"{path} is not an idx file: bad magic number {magic.hex() or '(empty file)'} "
            "(expected 0000 08 0N for uint8 data with N dimensions)"
        )
    ndim = magic[3]
    raw = f.read(4 * ndim)
    if len(raw) != 4 * ndim:
        raise DataError(f"{path}: idx header is truncated ({_DAMAGED_HINT})")
    return _IDX_TYPES[magic[2]], struct.unpack(f">{ndim}I", raw)


def _read_at_most(f: BinaryIO, n: int, chunk: int = 1 << 24) -> bytearray:
    """Read up to ``n`` bytes in chunks: a forged header cannot make us allocate ``n`` at once."""
    buf = bytearray()
    while len(buf) < n:
        part = f.read(min(chunk, n - len(buf)))
        if not part:
            break
        buf += part
    return buf


def read_idx_header(path: str | os.PathLike[str]) -> tuple[np.dtype, tuple[int, ...]]:
    """Element type and dimensions of an idx file (gzipped or not), reading only its header.

    Raises:
        DataError: If the file is missing, is not an idx file, or its header is cut short.
    """
    path = Path(path)
    try:
        with _open_maybe_gzip(path) as f:
            return _read_idx_head(f, path)
    except DataError:
        raise
    except _READ_ERRORS as e:
        raise DataError(f"cannot read {path}: {e} ({_DAMAGED_HINT})") from None


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a whole idx file (``.gz`` or plain) into a native-endian numpy array.

    Args:
        path: The idx file, e.g. ``train-images-idx3-ubyte.gz``.

    Returns:
        An array of the shape given in the header (``(N, 28, 28)`` for MNIST images,
        ``(N,)`` for labels).

    Raises:
        DataError: Bad magic number, truncated header or data, trailing bytes, or a damaged
            gzip stream; the message names the file.
    """
    path = Path(path)
    try:
        with _open_maybe_gzip(path) as f:
            dtype, dims = _read_idx_head(f, path)
            expected = math.prod(dims) * dtype.itemsize
            # One byte more than needed detects trailing garbage without reading it all.
            data = _read_at_most(f, expected + 1)
    except DataError:
        raise
    except _READ_ERRORS as e:
        raise DataError(f"cannot read {path}: {e} ({_DAMAGED_HINT})") from None
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise DataError(
            f"{path} is {what}: header {'x'.join(map(str, dims))} needs {expected} data bytes, "
            f"found {len(data) if len(data) <= expected else 'more'} ({_DAMAGED_HINT})"
        )
    arr = np.frombuffer(data, dtype=dtype).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=False)


# ---------------------------------------------------------------------------------------------
# CIFAR python batches
# ---------------------------------------------------------------------------------------------


def _allowed_globals() -> dict[tuple[str, str], Any]:
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct
        from numpy._core.numeric import _frombuffer
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct
        from numpy.core.numeric import _frombuffer
    # Only what a pickled dict of numpy arrays can reference: the official batches (pickled by
    # numpy 1.x under Python 2) and re-pickled copies (protocol 2 uses _codecs.encode for bytes,
    # protocol 5 numpy's _frombuffer). None of these can run code or touch files.
    return {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy.core.numeric", "_frombuffer"): _frombuffer,
        ("numpy._core.numeric", "_frombuffer"): _frombuffer,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): codecs.encode,
    }


class CifarUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild numpy arrays and plain containers, and nothing else.

    Any other global a pickle names (``os.system``, ``builtins.eval``, a class) raises
    :class:`~noisylabels.errors.DataError` before it is looked up, so a malicious file cannot run
    code. Persistent ids are refused too (the base class does that when none are handled).

    Args:
        file: Binary stream holding the pickle.
        source: File name used in error messages.
    """

    def __init__(self, file: BinaryIO, source: str) -> None:
        # latin1 turns Python 2 ``str`` (keys and raw array bytes) into text numpy accepts.
        super().__init__(file, encoding="latin1")
        self._source = source
        self._allowed = _allowed_globals()

    def find_class(self, module: str, name: str) -> Any:
        """Resolve a global only when it is on the allow-list."""
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise DataError(
                f"refusing to unpickle {self._source}: it references {module}.{name}, which a "
                "CIFAR batch never needs (the file is not a CIFAR batch, or it is malicious)"
            ) from None


def read_cifar_batch(
    data: bytes, source: str, label_keys: Sequence[str] = ("labels",)
) -> dict[str, np.ndarray]:
    """Decode one CIFAR python batch (the bytes of ``data_batch_1``, ``train``, ...).

    Args:
        data: The raw pickle bytes.
        source: Name of the file (or archive member) for error messages.
        label_keys: Label lists to return, e.g. ``("labels",)`` for CIFAR-10 or
            ``("fine_labels", "coarse_labels")`` for CIFAR-100.

    Returns:
        ``{"x": uint8 (N, 3, 32, 32), <label key>: int64 (N,), ...}``. Each row of the batch's
        ``data`` holds the red, green and blue 32x32 planes in row-major order, so it reshapes
        straight to channels-first.

    Raises:
        DataError: Refused global, damaged pickle, missing keys or wrong shapes.
    """
    try:
        obj = CifarUnpickler(io.BytesIO(data), source).load()
    except DataError:
        raise
    except (pickle.UnpicklingError, *_READ_ERRORS, TypeError, KeyError, IndexError) as e:
        raise DataError(f"cannot unpickle {source}: {e} ({_DAMAGED_HINT})") from None
    if not isinstance(obj, dict):
        raise DataError(f"{source} is not a CIFAR batch: it holds a {type(obj).__name__}")
    batch = {(k.decode("latin1") if isinstance(k, bytes) else str(k)): v for k, v in obj.items()}
    missing = [k for k in ("data", *label_keys) if k not in batch]
    if missing:
        raise DataError(
            f"{source} is not a CIFAR batch: missing {', '.join(missing)} "
            f"(keys: {', '.join(sorted(batch))})"
        )
    x = batch["data"]
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3072:
        desc = f"{x.dtype} {x.shape}" if isinstance(x, np.ndarray) else type(x).__name__
        raise DataError(f"{source}: 'data' must be uint8 of shape (N, 3072), got {desc}")
    out = {"x": np.ascontiguousarray(x).reshape(-1, 3, 32, 32)}
    for key in label_keys:
        try:
            y = np.asarray(batch[key])
        except (TypeError, ValueError) as e:
            raise DataError(f"{source}: {key!r} is not a list of integers ({e})") from None
        if y.ndim != 1 or y.dtype.kind not in "iu" or len(y) != len(x):
            raise DataError(
                f"{source}: {key!r} must be {len(x)} integers, got {y.dtype} of shape {y.shape}"
            )
        out[key] = y.astype(np.int64)
    return out


def read_cifar_folder(
    folder: Path, members: Sequence[str], label_keys: Sequence[str]
) -> list[dict[str, np.ndarray]]:
    """Read the named batch files of an extracted CIFAR folder, in the given order."""
    out = []
    for name in members:
        path = folder / name
        try:
            data = path.read_bytes()
        except OSError as e:
            raise DataError(f"cannot read {path}: {e}") from None
        out.append(read_cifar_batch(data, str(path), label_keys))
    return out


def read_cifar_tar(
    archive: Path, prefix: str, members: Sequence[str], label_keys: Sequence[str]
) -> list[dict[str, np.ndarray]]:
    """Read batches straight from the official ``.tar.gz``, in one pass, without extracting.

    Args:
        archive: ``cifar-10-python.tar.gz`` or ``cifar-100-python.tar.gz``.
        prefix: The folder inside the archive (``cifar-10-batches-py``).
        members: Batch names, in the order to return them.
        label_keys: Label lists to return from each batch.
    """
    wanted = {f"{prefix}/{m}": m for m in members}
    raw: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for info in tar:
                if info.name in wanted and info.isfile():
                    f = tar.extractfile(info)
                    if f is not None:
                        raw[wanted[info.name]] = f.read()
                    if len(raw) == len(wanted):
                        break
    except _READ_ERRORS as e:
        raise DataError(f"cannot read {archive}: {e} ({_DAMAGED_HINT})") from None
    missing = [m for m in members if m not in raw]
    if missing:
        raise DataError(
            f"{archive} lacks {', '.join(f'{prefix}/{m}' for m in missing)} "
            f"(not the official archive, or {_DAMAGED_HINT})"
        )
    return [read_cifar_batch(raw[m], f"{archive}:{prefix}/{m}", label_keys) for m in members]


# ---------------------------------------------------------------------------------------------
# npz
# ---------------------------------------------------------------------------------------------


# numpy parses .npy headers with ast.literal_eval, and CPython 3.11's AST constructor keeps its
# recursion counter in interpreter-wide state: two threads parsing at once can fail with
# "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905). Headers are
# tiny, so they are parsed one at a time; only the decompression runs in parallel.
_HEADER_LOCK = threading.Lock()


def _read_npy_header(f: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype from the ``.npy`` header at ``f``'s position."""
    with _HEADER_LOCK:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(f)
        return np.lib.format.read_array_header_2_0(f)


def _read_member(path: Path, key: str) -> np.ndarray:
    with zipfile.ZipFile(path) as zf, zf.open(f"{key}.npy") as f:
        shape, fortran, dtype = _read_npy_header(f)
        if dtype.hasobject:
            raise DataError(f"{path}: array {key!r} holds Python objects, which are not loaded")
        # Reading to the end makes zipfile verify the member's CRC.
        data = bytearray(f.read())
    expected = math.prod(shape) * dtype.itemsize
    if len(data) != expected:
        raise DataError(
            f"{path}: array {key!r} has {len(data)} bytes of data, its header says {expected} "
            f"({_DAMAGED_HINT})"
        )
    array = np.frombuffer(data, dtype=dtype)
    return array.reshape(shape, order="F" if fortran else "C")


def read_npz(path: str | os.PathLike[str], keys: Iterable[str]) -> dict[str, np.ndarray]:
    """Read the named arrays of an ``.npz`` file (``allow_pickle=False``).

    Members are decoded in parallel threads: zlib and LZMA release the GIL, which shortens the
    load of LZMA-compressed archives such as ``cifar10.npz``.

    Raises:
        DataError: Missing keys, object arrays, or a damaged archive (bad CRC, truncated member).
    """
    path = Path(path)
    keys = list(keys)
    try:
        with zipfile.ZipFile(path) as zf:
            present = {n[:-4] for n in zf.namelist() if n.endswith(".npy")}
        missing = [k for k in keys if k not in present]
        if missing:
            raise DataError(
                f"{path} lacks the arrays {', '.join(missing)} "
                f"(it has: {', '.join(sorted(present)) or 'none'})"
            )
        with ThreadPoolExecutor(max_workers=min(4, len(keys)) or 1) as pool:
            arrays = list(pool.map(lambda k: _read_member(path, k), keys))
    except DataError:
        raise
    except _READ_ERRORS as e:
        raise DataError(f"cannot read {path}: {e} ({_DAMAGED_HINT})") from None
    return dict(zip(keys, arrays, strict=True))


def npz_headers(path: str | os.PathLike[str]) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of every array in an ``.npz``, from the ``.npy`` headers only.

    Only the first bytes of each member are decompressed, so this is fast even for LZMA archives
    that take seconds to load in full.

    Raises:
        DataError: If the archive or a header cannot be read.
    """
    path = Path(path)
    out = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with zf.open(info) as f:
                    shape, _, dtype = _read_npy_header(f)
                out[info.filename[:-4]] = (tuple(shape), dtype)
    except _READ_ERRORS as e:
        raise DataError(f"cannot read {path}: {e} ({_DAMAGED_HINT})") from None
    return out
