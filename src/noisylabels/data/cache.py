"""Cache of decoded dataset arrays, so only the first load pays for decompression.

``cifar10.npz`` keeps its members LZMA-compressed; decoding ``x_train`` takes seconds. After the
first load the decoded arrays (already channels-first, labels ``int64``) and their per-channel
statistics are kept as raw ``.npy`` files under ``<user cache>/decoded/<name>-<key>/``, where the
key hashes the path, size and modification time of every source file: replacing or touching a
source file gives a new key, and the stale entry of that source is removed. Entries are written
to a temporary folder and renamed into place, so a crash never leaves a half-written entry; an
unreadable entry is rebuilt. A cache that cannot be written (read-only disk, full disk) only
costs speed: a warning is issued and the decoded data are used as they are.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from noisylabels.data import paths
from noisylabels.errors import DataError

CACHE_VERSION = 1
ARRAY_KEYS = ("x_train", "y_train", "x_test", "y_test")
_META = "meta.json"


def decoded_dir() -> Path:
    """Folder holding the decoded-array cache entries."""
    return paths.cache_dir() / "decoded"


def source_key(name: str, files: Sequence[Path]) -> str:
    """Hash of the dataset name and the path, size and mtime of each source file."""
    stamp = []
    for f in files:
        st = f.stat()
        stamp.append([str(f.resolve()), st.st_size, st.st_mtime_ns])
    blob = json.dumps([CACHE_VERSION, name, stamp]).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def channel_stats(x: np.ndarray, chunk: int = 4096) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and (population) standard deviation of uint8 images on the [0, 1] scale.

    Sums of values and of squares are accumulated exactly in integers (squares of uint8 fit in
    uint16), so the result does not depend on summation order.

    Args:
        x: ``uint8`` images of shape ``(N, C, H, W)``.
        chunk: Images per block (bounds the temporary memory).

    Returns:
        ``(mean, std)``, each a tuple of ``C`` floats.
    """
    n = x.shape[0] * x.shape[2] * x.shape[3]
    if n == 0:
        return (0.0,) * x.shape[1], (0.0,) * x.shape[1]
    s1 = x.sum(axis=(0, 2, 3), dtype=np.int64)
    s2 = np.zeros(x.shape[1], dtype=np.int64)
    for start in range(0, x.shape[0], chunk):
        b = x[start : start + chunk].astype(np.uint16)
        np.multiply(b, b, out=b)
        s2 += b.sum(axis=(0, 2, 3), dtype=np.int64)
    mean = s1 / n
    var = np.maximum(s2 / n - mean * mean, 0.0)
    return tuple(float(m) for m in mean / 255.0), tuple(float(s) for s in np.sqrt(var) / 255.0)


def _read_entry(entry: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    try:
        meta = json.loads((entry / _META).read_text())
        if meta.get("version") != CACHE_VERSION:
            return None
        arrays = {}
        for k in ARRAY_KEYS:
            a = np.load(entry / f"{k}.npy", allow_pickle=False)
            if list(a.shape) != meta["shapes"][k] or str(a.dtype) != meta["dtypes"][k]:
                return None
            arrays[k] = a
        return arrays, meta
    except (OSError, ValueError, KeyError, TypeError, EOFError):
        return None


def _write_entry(entry: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=entry.parent))
    try:
        for k in ARRAY_KEYS:
            np.save(tmp / f"{k}.npy", arrays[k], allow_pickle=False)
        (tmp / _META).write_text(json.dumps(meta, indent=1))
        try:
            os.rename(tmp, entry)
        except OSError:
            if not (entry / _META).is_file():  # not just another process winning the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _evict_stale(name: str, keep: Path, source: str) -> None:
    for other in decoded_dir().glob(f"{name}-*"):
        if other == keep:
            continue
        try:
            same = json.loads((other / _META).read_text()).get("source") == source
        except (OSError, ValueError):
            continue
        if same:
            shutil.rmtree(other, ignore_errors=True)


def load_or_decode(
    name: str,
    files: Sequence[Path],
    source: str,
    decode: Callable[[], dict[str, np.ndarray]],
    *,
    enabled: bool = True,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Decoded arrays of a dataset, from the cache when possible.

    Args:
        name: Dataset name.
        files: Every source file the arrays are decoded from (they key the entry).
        source: Human-readable origin stored in the entry (used to evict stale entries).
        decode: Produces ``{"x_train", "y_train", "x_test", "y_test"}`` (uint8 NCHW images,
            int64 labels) from the source files.
        enabled: False bypasses the cache entirely (no read, no write).

    Returns:
        ``(arrays, meta)``; ``meta`` has ``mean``/``std`` lists and ``cached`` (True when the
        arrays came from the cache).
    """
    try:
        entry = decoded_dir() / f"{name}-{source_key(name, files)}" if enabled else None
    except OSError as e:  # a source file vanished or became unreadable since it was found
        raise DataError(f"cannot read {getattr(e, 'filename', None) or source}: {e}") from None
    if entry is not None and entry.is_dir():
        hit = _read_entry(entry)
        if hit is not None:
            arrays, meta = hit
            return arrays, {**meta, "cached": True, "entry": str(entry)}
        shutil.rmtree(entry, ignore_errors=True)
    arrays = decode()
    mean, std = channel_stats(arrays["x_train"])
    meta: dict[str, Any] = {
        "version": CACHE_VERSION,
        "name": name,
        "source": source,
        "files": [str(f) for f in files],
        "mean": list(mean),
        "std": list(std),
        "shapes": {k: list(arrays[k].shape) for k in ARRAY_KEYS},
        "dtypes": {k: str(arrays[k].dtype) for k in ARRAY_KEYS},
    }
    if entry is not None:
        try:
            _write_entry(entry, arrays, meta)
            _evict_stale(name, entry, source)
        except OSError as e:
            warnings.warn(
                f"could not cache decoded {name} in {entry.parent} ({e}); the next load will "
                "decode the source again",
                RuntimeWarning,
                stacklevel=3,
            )
    return arrays, {**meta, "cached": False, "entry": str(entry) if entry else None}
