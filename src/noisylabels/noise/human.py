"""Real human label noise: CIFAR-10N (Wei et al., ICLR 2022, github.com/UCSC-REAL/cifar-10-100n).

Each of the 50,000 CIFAR-10 training images was labelled by three Amazon Mechanical Turk workers.
Variants (noise rate against the clean labels, measured from the official release):
``aggre`` (majority vote, 9.01%), ``random1/2/3`` (one worker each, 17.23/18.12/17.64%),
``worst`` (a wrong label whenever any worker gave one, 40.21%).

Files (the caller says where to look: :func:`noisylabels.data.cifar10n_file` searches an
explicit root, then ``$NOISYLABELS_DATA``, the user cache, ``/usr/share/datasets``):

- ``cifar10n_labels.npz``: plain arrays ``clean_label``, ``aggre_label``, ``worse_label``,
  ``random_label1..3``, in the canonical CIFAR-10 train order (no pickle);
- ``CIFAR-10_human.pt``: the official release, read with ``torch.load(weights_only=True)`` and
  only numpy's array-rebuilding functions allow-listed, so it cannot run code.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from noisylabels.errors import DataError, UsageError
from noisylabels.safeload import check_file_kind, torch_load

#: Variant -> key in the CIFAR-10N files.
CIFAR10N_KEYS: dict[str, str] = {
    "aggre": "aggre_label",
    "worst": "worse_label",
    "random1": "random_label1",
    "random2": "random_label2",
    "random3": "random_label3",
}
CIFAR10N_FILES = ("cifar10n_labels.npz", "CIFAR-10_human.pt")
CIFAR10N_SIZE = 50_000


def _safe_numpy_globals() -> list:
    # What a numpy array pickle references, under its numpy-2 and numpy-1 module names.
    try:
        from numpy._core.multiarray import _reconstruct  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct

    allowed: list = [
        (_reconstruct, "numpy._core.multiarray._reconstruct"),
        (_reconstruct, "numpy.core.multiarray._reconstruct"),
        np.ndarray,
        np.dtype,
    ]
    # Float and bool dtypes are harmless to load; the label checks then refuse them by name.
    for t in (np.uint8, np.int8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64,
              np.float16, np.float32, np.float64, np.bool_):  # fmt: skip
        allowed.append(type(np.dtype(t)))  # numpy.dtypes.UInt8DType etc.
    return allowed


def read_human_pt(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read an official CIFAR-N ``.pt`` file safely (``weights_only=True``; no arbitrary code).

    Raises:
        DataError: If the file cannot be read as a dict of label arrays.
    """
    obj = torch_load(path, "CIFAR-N label file", _safe_numpy_globals())
    if not isinstance(obj, dict):
        raise DataError(f"{path} is not a CIFAR-N label file (expected a dict of label arrays)")
    out = {}
    for k, v in obj.items():
        if hasattr(v, "detach"):
            v = v.detach().cpu().numpy()
        out[str(k)] = np.asarray(v)
    return out


def read_cifar10n(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """All label arrays of a CIFAR-10N file (``.npz`` or official ``.pt``), as ``int64``.

    Raises:
        DataError: If the file is unreadable, misses a key or has arrays of the wrong shape.
    """
    path = Path(path)
    if path.suffix == ".pt":
        raw = read_human_pt(path)
    else:
        check_file_kind(path, "npz", "CIFAR-10N label file")
        try:
            with np.load(path, allow_pickle=False) as z:
                raw = {k: z[k] for k in z.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
            raise DataError(f"cannot read {path} as a CIFAR-10N .npz file: {e}") from None
    need = ["clean_label", *CIFAR10N_KEYS.values()]
    missing = [k for k in need if k not in raw]
    if missing:
        raise DataError(f"{path} is not a CIFAR-10N label file: missing {', '.join(missing)}")
    out = {}
    for k in need:
        a = np.asarray(raw[k]).reshape(-1)
        integer = np.issubdtype(a.dtype, np.integer) and a.dtype != np.bool_
        if a.shape != (CIFAR10N_SIZE,) or not integer:
            raise DataError(
                f"{path}: {k} should hold {CIFAR10N_SIZE} integer labels, got {a.shape} {a.dtype}"
            )
        if a.min() < 0 or a.max() > 9:
            raise DataError(f"{path}: {k} has labels outside 0..9")
        out[k] = a.astype(np.int64)
    return out


def find_cifar10n(folders: Sequence[str | os.PathLike[str]]) -> Path:
    """Path of the CIFAR-10N label file: the first of :data:`CIFAR10N_FILES` in ``folders``.

    Raises:
        DataError: If none is found (the message lists where it looked and how to provide one).
    """
    dirs = [Path(d).expanduser() for d in folders]
    for d in dirs:
        for name in CIFAR10N_FILES:
            if (d / name).is_file():
                return d / name
    where = ", ".join(str(d) for d in dirs) or "no folder"
    raise DataError(
        f"CIFAR-10N labels not found: looked for {' or '.join(CIFAR10N_FILES)} in {where}; "
        "put cifar10n_labels.npz, or the official CIFAR-10_human.pt (github.com/UCSC-REAL/"
        "cifar-10-100n, folder data/), in one of these folders, or pass --root / root="
    )


def cifar10n_noisy_labels(
    variant: str, clean_labels: np.ndarray, path: str | os.PathLike[str]
) -> np.ndarray:
    """CIFAR-10N noisy labels of ``variant`` for the given clean CIFAR-10 train labels.

    Args:
        variant: ``aggre``, ``worst``, ``random1``, ``random2`` or ``random3``.
        clean_labels: The dataset's clean train labels, canonical order (checked against the
            file's ``clean_label``).
        path: The CIFAR-10N label file (:func:`find_cifar10n`).

    Raises:
        DataError: File not found or unreadable.
        UsageError: If the clean labels are not CIFAR-10's train labels in canonical order.
    """
    key = CIFAR10N_KEYS[variant]
    data = read_cifar10n(path)
    clean = np.asarray(clean_labels, dtype=np.int64)
    if clean.shape[0] != CIFAR10N_SIZE:
        raise UsageError(
            f"CIFAR-10N noise needs the {CIFAR10N_SIZE} CIFAR-10 train labels, got "
            f"{clean.shape[0]} labels; use --dataset cifar10"
        )
    diff = int((data["clean_label"] != clean).sum())
    if diff:
        raise UsageError(
            f"CIFAR-10N clean labels in {path} differ from the given labels at {diff} of "
            f"{CIFAR10N_SIZE} positions: wrong dataset or image order (CIFAR-10N needs CIFAR-10 "
            "train in the canonical data_batch_1..5 order)"
        )
    return data[key]
