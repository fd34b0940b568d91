"""Reading user-supplied ``.pt`` and ``.npz`` files without running code, with one-line errors.

``torch.load`` is only ever called with ``weights_only=True`` (and an explicit allow-list of
globals); numpy archives only with ``allow_pickle=False``. Their own error messages advise
turning those safeties off (``weights_only=False``) or talk about pickles when the file is just
text; :func:`torch_load` and :func:`check_file_kind` replace them with what is wrong with the
file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from noisylabels.errors import DataError

_ZIP = b"PK\x03\x04"
_EMPTY_ZIP = b"PK\x05\x06"
_NPY = b"\x93NUMPY"
_PICKLE = b"\x80"  # pickle protocol >= 2 (torch's legacy, non-zip format)


def _head(path: Path, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(8)
    except IsADirectoryError:
        raise DataError(f"{what} {path} is a folder, not a file") from None
    except OSError as e:
        raise DataError(f"cannot read {what} {path}: {e.strerror or type(e).__name__}") from None


def _looks_like_text(head: bytes) -> bool:
    return bool(head) and all(b in b"\t\n\r" or 32 <= b < 127 for b in head)


def check_file_kind(path: str | os.PathLike[str], kind: str, what: str) -> None:
    """Raise a one-line :class:`DataError` unless ``path`` starts like a ``kind`` file.

    Args:
        path: The file.
        kind: ``"npz"`` (a zip archive of ``.npy`` arrays) or ``"pt"`` (``torch.save`` output).
        what: What the file should be ("noise file", "CIFAR-10N label file"), for the message.
    """
    p = Path(path)
    head = _head(p, what)
    ok = {"npz": (_ZIP, _EMPTY_ZIP), "pt": (_ZIP, _PICKLE)}[kind]
    if head.startswith(ok):
        return
    if not head:
        found = "an empty file"
    elif _looks_like_text(head):
        found = "a text file"
    elif head.startswith(_NPY):
        found = "a single-array .npy file"
    else:
        found = "not a zip archive"
    fmt = "a .npz archive (numpy.savez)" if kind == "npz" else "a PyTorch file (torch.save)"
    raise DataError(f"{what} {p} is {found}; expected {fmt}")


def torch_load(
    path: str | os.PathLike[str],
    what: str,
    safe_globals: Iterable[Any] = (),
    map_location: Any = "cpu",
) -> Any:
    """``torch.load(path, weights_only=True)`` with only ``safe_globals`` added to torch's list.

    Args:
        path: The file.
        what: What the file should be, for the messages.
        safe_globals: Extra functions/classes the file may reference (e.g. numpy's array
            rebuilding functions), passed to ``torch.serialization.safe_globals``.
        map_location: Where the tensors go (``torch.load``'s argument).

    Raises:
        DataError: Not a PyTorch file, truncated, or referencing anything outside the allowed
            types. The message never suggests ``weights_only=False``.
    """
    import pickle

    import torch

    p = Path(path)
    check_file_kind(p, "pt", what)
    allow = list(safe_globals)
    # torch < 2.5 has no safe_globals: its weights_only loader takes tensors and containers only.
    has_allow = hasattr(torch.serialization, "safe_globals")
    extra = torch.serialization.safe_globals(allow) if has_allow else contextlib.nullcontext()
    try:
        # torch warns about pickle protocols of hostile files; the error below says enough.
        with warnings.catch_warnings(), extra:
            warnings.simplefilter("ignore")
            return torch.load(p, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        m = re.search(r"Unsupported global: GLOBAL ([\w.]+)|but got <class '([\w.]+)'>", str(e))
        holds = (
            f"a {m.group(1) or m.group(2)} object"
            if m
            else "Python objects that are not tensors or arrays"
        )
        if allow and not has_allow and "numpy" in str(e):
            raise DataError(
                f"cannot read {what} {p}: numpy arrays in it need torch >= 2.5 "
                f"(this is torch {torch.__version__})"
            ) from None
        raise DataError(
            f"{what} {p} holds {holds}; it is refused because loading it could run code. "
            "Save only tensors, numpy arrays and plain containers (dict, list)"
        ) from None
    except (RuntimeError, EOFError, KeyError, ValueError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        damaged = "zip" in first or isinstance(e, EOFError)
        # torch's zip reader reports a file cut short as EINVAL from its read
        damaged = damaged or (isinstance(e, OSError) and e.errno == errno.EINVAL)
        why = "truncated or corrupt" if damaged else first[:120]
        raise DataError(f"cannot read {what} {p}: {why}") from None
