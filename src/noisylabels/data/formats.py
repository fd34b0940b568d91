"""File formats of the built-in datasets, one class each: find, headers, decode.

A :class:`~noisylabels.data.datasets.FileDataset` lists the formats its files may come in (an
``.npz`` of arrays, MNIST's idx files, CIFAR python batches in a folder or in the official
``.tar.gz``). For each search folder it asks every format, in order, to :meth:`FileFormat.find`
a complete copy; :meth:`FileFormat.headers` gives the sizes without decoding (for
``noisylabels datasets``) and :meth:`FileFormat.decode` the arrays (uint8 ``(N, C, H, W)``
images and labels, checked by the dataset afterwards). The formats of your own files (image
folder, table, your own ``.npz``) are in :mod:`noisylabels.data.userfiles`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from noisylabels.data import cache, readers
from noisylabels.data.classes import CIFAR100_FINE_TO_COARSE
from noisylabels.errors import DataError

if TYPE_CHECKING:
    from noisylabels.data.datasets import FileDataset

#: The four idx files of MNIST-style datasets, by array key.
IDX_FILES = (
    ("x_train", "train-images-idx3-ubyte"),
    ("y_train", "train-labels-idx1-ubyte"),
    ("x_test", "t10k-images-idx3-ubyte"),
    ("y_test", "t10k-labels-idx1-ubyte"),
)


@dataclass(frozen=True)
class Found:
    """A located copy of a file-backed dataset.

    Attributes:
        format: The :attr:`FileFormat.name` it was found in (``"npz"``, ``"idx"``, ...).
        path: The file or folder.
        files: Every file the data are read from.
    """

    format: str
    path: Path
    files: tuple[Path, ...]


class FileFormat:
    """One way a dataset's files can be laid out.

    Subclasses implement :meth:`find`, :meth:`headers` and :meth:`decode`; they hold no state,
    so one instance serves every dataset.
    """

    name: ClassVar[str]

    def find(self, base: Path, spec: FileDataset, explicit: bool) -> Found | str | None:
        """A complete copy under ``base``, a note about an incomplete one, or None.

        Args:
            base: The folder to look in.
            spec: The dataset looked for (file names, layout).
            explicit: Whether ``base`` was named for this dataset (a ``root`` given by the
                caller, or a subfolder named after the dataset).
        """
        raise NotImplementedError

    def headers(self, found: Found, spec: FileDataset) -> tuple[int, int]:
        """``(n_train, n_test)`` read from the file headers only.

        Raises:
            DataError, KeyError, IndexError: Unreadable or incomplete headers.
        """
        raise NotImplementedError

    def decode(self, found: Found, spec: FileDataset) -> dict[str, np.ndarray]:
        """``{"x_train", "y_train", "x_test", "y_test"}``, images channels-first.

        Raises:
            DataError: A damaged or inconsistent file, naming it.
        """
        raise NotImplementedError


class NpzArrays(FileFormat):
    """One ``.npz`` of the four arrays ``x_train``, ``y_train``, ``x_test``, ``y_test``."""

    name = "npz"

    def find(self, base: Path, spec: FileDataset, explicit: bool) -> Found | str | None:
        """The first of the dataset's ``npz_names`` present in ``base``."""
        for npz in spec.npz_names:
            if (base / npz).is_file():
                return Found(self.name, base / npz, (base / npz,))
        return None

    def headers(self, found: Found, spec: FileDataset) -> tuple[int, int]:
        """Sizes from the ``.npy`` headers inside the archive."""
        heads = readers.npz_headers(found.path)
        return heads["x_train"][0][0], heads["x_test"][0][0]

    def decode(self, found: Found, spec: FileDataset) -> dict[str, np.ndarray]:
        """The four arrays, grey images given a channel axis, HWC images made CHW."""
        raw = readers.read_npz(found.path, cache.ARRAY_KEYS)
        arrays = {}
        for k, a in raw.items():
            if k.startswith("x_"):
                if a.ndim == 3:  # (N, H, W) grey
                    a = a[:, None]
                elif a.ndim == 4:  # (N, H, W, C), the layout of the shared npz files
                    a = a.transpose(0, 3, 1, 2)
                else:
                    raise DataError(
                        f"{found.path}: {k} must be (N, H, W) or (N, H, W, C), got {a.shape}"
                    )
            arrays[k] = a
        return arrays


class IdxFiles(FileFormat):
    """MNIST's four idx files (``train-images-idx3-ubyte[.gz]``, ...) in one folder."""

    name = "idx"

    def find(self, base: Path, spec: FileDataset, explicit: bool) -> Found | str | None:
        """All four files (plain or gzipped); only in a folder named for the dataset.

        The idx names are shared by MNIST and Fashion-MNIST: only a folder named after the
        dataset (or a root given explicitly) says which one they are.
        """
        if not explicit:
            return None
        got, missing = [], []
        for _, stem in IDX_FILES:
            p = next((q for q in (base / stem, base / f"{stem}.gz") if q.is_file()), None)
            if p is None:
                missing.append(stem)
            else:
                got.append(p)
        if not missing:
            return Found(self.name, base, tuple(got))
        if got:
            return f"{base} lacks {', '.join(s + '[.gz]' for s in missing)}"
        return None

    def headers(self, found: Found, spec: FileDataset) -> tuple[int, int]:
        """Sizes from the image files' idx headers."""
        return (readers.read_idx_header(found.files[0])[1][0],
                readers.read_idx_header(found.files[2])[1][0])

    def decode(self, found: Found, spec: FileDataset) -> dict[str, np.ndarray]:
        """The four arrays; images and labels of a split must agree in number."""
        arrays = {}
        for (key, _), f in zip(IDX_FILES, found.files, strict=True):
            a = readers.read_idx(f)
            want = 3 if key.startswith("x_") else 1
            if a.ndim != want:
                raise DataError(f"{f}: expected a {want}-dimensional idx file, got {a.shape}")
            arrays[key] = a[:, None] if want == 3 else a
        for split in ("train", "test"):
            nx, ny = len(arrays[f"x_{split}"]), len(arrays[f"y_{split}"])
            if nx != ny:
                raise DataError(
                    f"{found.path}: {split} has {nx} images but {ny} labels (mixed files?)"
                )
        return arrays


class _CifarBatches(FileFormat):
    """CIFAR python batches; subclasses say where the batch bytes come from."""

    def headers(self, found: Found, spec: FileDataset) -> tuple[int, int]:
        """The official sizes: reading a batch's size means unpickling it."""
        return spec.n_train, spec.n_test

    def _batches(self, found: Found, spec: FileDataset) -> list[dict[str, np.ndarray]]:
        raise NotImplementedError

    def decode(self, found: Found, spec: FileDataset) -> dict[str, np.ndarray]:
        """Train batches then test batches, concatenated; CIFAR-100 coarse labels checked."""
        lay = spec.cifar
        assert lay is not None
        members = (*lay.train, *lay.test)
        batches = self._batches(found, spec)
        if lay.coarse_key:
            table = np.asarray(CIFAR100_FINE_TO_COARSE)
            for m, b in zip(members, batches, strict=True):
                fine = b[lay.label_key]
                if len(fine) and (fine.min() < 0 or fine.max() >= len(table)):
                    raise DataError(f"{found.path}:{m}: fine labels outside 0..99")
                if not np.array_equal(table[fine], b[lay.coarse_key]):
                    raise DataError(
                        f"{found.path}:{m}: coarse labels disagree with the CIFAR-100 "
                        "superclass table (not an official batch?)"
                    )
        ntr = len(lay.train)
        return {
            "x_train": np.concatenate([b["x"] for b in batches[:ntr]]),
            "y_train": np.concatenate([b[lay.label_key] for b in batches[:ntr]]),
            "x_test": np.concatenate([b["x"] for b in batches[ntr:]]),
            "y_test": np.concatenate([b[lay.label_key] for b in batches[ntr:]]),
        }

    @staticmethod
    def _keys(spec: FileDataset) -> tuple[str, ...]:
        lay = spec.cifar
        assert lay is not None
        return (lay.label_key,) + ((lay.coarse_key,) if lay.coarse_key else ())


class CifarFolder(_CifarBatches):
    """The extracted batch folder (``cifar-10-batches-py/``)."""

    name = "cifar-folder"

    def find(self, base: Path, spec: FileDataset, explicit: bool) -> Found | str | None:
        """The folder with every batch file, or a note naming the missing ones."""
        lay = spec.cifar
        if lay is None:
            return None
        folder = base / lay.folder
        if not folder.is_dir():
            return None
        need = [folder / m for m in (*lay.train, *lay.test)]
        missing = [p.name for p in need if not p.is_file()]
        if not missing:
            return Found(self.name, folder, tuple(need))
        return f"{folder} lacks {', '.join(missing)}"

    def _batches(self, found: Found, spec: FileDataset) -> list[dict[str, np.ndarray]]:
        lay = spec.cifar
        assert lay is not None
        return readers.read_cifar_folder(found.path, (*lay.train, *lay.test), self._keys(spec))


class CifarTar(_CifarBatches):
    """The official archive (``cifar-10-python.tar.gz``), read without extracting."""

    name = "cifar-tar"

    def find(self, base: Path, spec: FileDataset, explicit: bool) -> Found | str | None:
        """The archive, if present."""
        lay = spec.cifar
        if lay is None or not (base / lay.archive).is_file():
            return None
        p = base / lay.archive
        return Found(self.name, p, (p,))

    def _batches(self, found: Found, spec: FileDataset) -> list[dict[str, np.ndarray]]:
        lay = spec.cifar
        assert lay is not None
        return readers.read_cifar_tar(
            found.path, lay.folder, (*lay.train, *lay.test), self._keys(spec)
        )


#: Every built-in file format by name.
FORMATS: dict[str, FileFormat] = {
    f.name: f for f in (NpzArrays(), IdxFiles(), CifarFolder(), CifarTar())
}
