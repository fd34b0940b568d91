"""A user's own dataset files: an image folder, a CSV or Parquet table, an ``.npz`` of arrays.

:func:`load_path` reads one of them into the same
:class:`~noisylabels.data.base.DatasetBundle` as the built-in datasets (through
:func:`~noisylabels.data.from_arrays`, so layouts, label checks and the split without a test set
are the same); :func:`~noisylabels.data.load_dataset` and the CLI's ``--data PATH`` call it for
anything that is not a registered dataset name.

* **Image folder** ``root/<class>/<image>`` (PNG, JPEG, BMP, GIF, WebP, TIFF via Pillow: the
  ``noisylabels[images]`` extra), or ``root/train/<class>/...`` plus ``root/test/<class>/...``.
  Classes are the folder names, sorted; images within a class are sorted by file name. Every
  image must have the same size unless ``image_size`` is given, which resizes each one to
  ``image_size x image_size`` (or ``(H, W)``) with :func:`resize_images`. The images are grey
  (one channel) when every file is grey, else RGB (alpha dropped, palettes expanded).
* **Table** ``.csv`` (read with the standard library) or ``.parquet`` (pandas + pyarrow: the
  ``noisylabels[parquet]`` extra): one row per example, the label in ``label_column`` (default
  ``label``), every other column a numeric feature.
* **npz** with ``x_train`` and ``y_train``, optionally ``x_test``/``y_test`` and ``classes`` (an
  array of strings); read with ``allow_pickle=False``.

Every problem is a one-line :class:`~noisylabels.errors.UsageError` naming the file or class.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from noisylabels.data.arrays import check_memory, from_arrays
from noisylabels.data.base import DatasetBundle
from noisylabels.errors import DataError, UsageError

PathLike = str | os.PathLike[str]

#: File name endings read as images in an image folder (case-insensitive).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
DEFAULT_LABEL_COLUMN = "label"
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def is_path(name: str) -> bool:
    """Whether ``name`` should be read as a file or folder rather than a dataset name."""
    p = Path(name).expanduser()
    return p.exists() or any(s in name for s in ("/", os.sep)) or \
        p.suffix.lower() in (*TABLE_SUFFIXES, ".npz")


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise UsageError(
            "reading an image folder needs Pillow: pip install 'noisylabels[images]' "
            "(or pip install pillow)"
        ) from None
    return Image


def parse_image_size(value: Any) -> tuple[int, int] | None:
    """``32`` -> ``(32, 32)``; ``"32x24"`` or ``(32, 24)`` -> ``(32, 24)`` (height, width)."""
    if value is None:
        return None
    if isinstance(value, str):
        parts = value.lower().replace(",", "x").split("x")
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        parts = [value, value]
    if len(parts) == 1:
        parts = parts * 2
    try:
        h, w = (int(p) for p in parts)
    except (TypeError, ValueError):
        raise UsageError(f"image size {value!r}: give a number (32) or HxW (32x24)") from None
    if h < 1 or w < 1 or len(parts) != 2:
        raise UsageError(f"image size {value!r}: give a number (32) or HxW (32x24)")
    return h, w


def resize_images(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize ``uint8`` images ``(N, C, H, W)`` to ``size`` (height, width), bilinearly.

    Uses ``torch.nn.functional.interpolate(mode="bilinear", antialias=True)``: a triangle filter
    that is widened by the scale factor when shrinking, like Pillow's ``BILINEAR`` resize (within
    one grey level of it), so shrunken images do not alias. Values are rounded back to
    ``uint8``; images already of that size are returned unchanged.
    """
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    out = torch.nn.functional.interpolate(
        x.float(), size=tuple(size), mode="bilinear", align_corners=False, antialias=True
    )
    return out.round_().clamp_(0, 255).to(torch.uint8)


# ---------------------------------------------------------------------------------------------
# Image folder
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Split:
    files: tuple[Path, ...]
    labels: np.ndarray


def _class_files(folder: Path) -> dict[str, list[Path]]:
    """``{class name: sorted image files}`` of ``folder/<class>/<image>``."""
    out: dict[str, list[Path]] = {}
    stray = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            inner = [p for p in entry.iterdir() if not p.name.startswith(".")]
            sub = sorted(p for p in inner if p.is_dir())
            if sub:  # its images would be left out without a word
                raise UsageError(f"{sub[0]}: a folder inside class folder {entry}; images must "
                                 f"sit directly in {folder}/<class>/")
            files = sorted(
                p for p in inner if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
            if not files:
                raise UsageError(
                    f"class folder {entry} holds no images ({', '.join(IMAGE_SUFFIXES)}); "
                    "remove it or add images"
                )
            out[entry.name] = files
        elif entry.suffix.lower() in IMAGE_SUFFIXES:
            stray.append(entry)
    if stray:
        raise UsageError(f"{stray[0]}: images must sit in a class folder "
                         f"{folder}/<class>/<image>, not in {folder} itself")
    return out


def _image_splits(root: Path) -> tuple[tuple[str, ...], _Split, _Split | None]:
    subdirs = {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}
    if {"train", "test"} <= subdirs:
        train, test = _class_files(root / "train"), _class_files(root / "test")
        if not train:
            raise UsageError(f"{root / 'train'} has no class folders <class>/<image>")
        if not test:
            raise UsageError(f"{root / 'test'} has no class folders <class>/<image>; add the "
                             f"test images, or remove {root / 'test'} to split the training ones")
        classes = tuple(sorted(train))
        extra = sorted(set(test) - set(train))
        if extra:
            raise UsageError(
                f"{root / 'test' / extra[0]}: class {extra[0]!r} is not in the class list of "
                f"{root / 'train'} ({', '.join(classes[:10])}{' ...' if len(classes) > 10 else ''})"
            )
    else:
        train, test, classes = _class_files(root), None, ()
        if not train:
            raise UsageError(f"{root}: no class folders with images; expected "
                             f"{root}/<class>/<image> or {root}/train/<class>/<image>")
        classes = tuple(sorted(train))
    index = {c: i for i, c in enumerate(classes)}

    def flat(by_class: dict[str, list[Path]]) -> _Split:
        files = [f for c in sorted(by_class) for f in by_class[c]]
        labels = np.array([index[c] for c in sorted(by_class) for _ in by_class[c]], np.int64)
        return _Split(tuple(files), labels)

    return classes, flat(train), flat(test) if test is not None else None


def _probe(files: Sequence[Path]) -> tuple[list[tuple[int, int]], bool]:
    """``(width, height)`` of every file and whether all are grey, from the headers only."""
    image = _pil()
    sizes, grey = [], True
    for f in files:
        try:
            with image.open(f) as im:
                sizes.append(im.size)
                grey = grey and im.mode in _GREY_MODES
        except (OSError, ValueError, SyntaxError) as e:
            raise UsageError(f"cannot read image {f}: {e}") from None
    return sizes, grey


def _decode_images(
    files: Sequence[Path], grey: bool, size: tuple[int, int] | None, shape: tuple[int, int, int]
) -> np.ndarray:
    image = _pil()
    c, h, w = shape
    out = np.empty((len(files), c, h, w), dtype=np.uint8)
    mode = "L" if grey else "RGB"
    for i, f in enumerate(files):
        try:
            with image.open(f) as im:
                im.load()  # decodes now: a truncated file fails here, naming the file
                if im.mode != mode:
                    im = im.convert("RGBA").convert(mode) if im.mode == "P" else im.convert(mode)
                a = np.asarray(im, dtype=np.uint8)
        except (OSError, ValueError, SyntaxError) as e:
            raise UsageError(f"cannot read image {f}: {e} (truncated or not an image?)") from None
        a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
        if size is not None and a.shape[1:] != size:
            a = resize_images(torch.from_numpy(np.ascontiguousarray(a))[None], size)[0].numpy()
        out[i] = a
    return out


def _check_sizes(
    files: Sequence[Path], sizes: Sequence[tuple[int, int]], size: tuple[int, int] | None
) -> tuple[int, int]:
    if size is not None:
        return size
    first = sizes[0]
    for f, s in zip(files, sizes, strict=True):
        if s != first:
            raise UsageError(
                f"images differ in size: {files[0]} is {first[0]}x{first[1]}, {f} is "
                f"{s[0]}x{s[1]} (width x height); resize them all with --image-size N "
                "(image_size=N)"
            )
    return first[1], first[0]  # (height, width)


def load_image_folder(
    root: PathLike,
    *,
    image_size: Any = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    name: str | None = None,
) -> DatasetBundle:
    """Read ``root/<class>/<image>`` (or ``root/train`` + ``root/test``) into a dataset.

    Args:
        root: The folder.
        image_size: Resize every image to this size (``32`` or ``(H, W)``); None requires one
            size throughout.
        test_fraction: Share of each class held out as the test split when there is no
            ``root/test`` folder.
        seed: Seed of that split.
        name: Dataset name (default: the folder's name).

    Raises:
        UsageError: A class folder with no images, an unreadable or truncated image, a test
            class missing from the training classes, mixed sizes without ``image_size``, or
            too little memory.
    """
    root = Path(root).expanduser()
    size = parse_image_size(image_size)
    classes, train, test = _image_splits(root)
    files = list(train.files) + (list(test.files) if test is not None else [])
    sizes, grey = _probe(files)
    h, w = _check_sizes(files, sizes, size)
    shape = (1 if grey else 3, h, w)
    check_memory(len(files) * math.prod(shape), str(root))
    x = _decode_images(files, grey, size, shape)
    n = len(train.files)
    kw: dict[str, Any] = {"sample_names": [f.relative_to(root).as_posix() for f in train.files]}
    if test is not None:
        kw.update(x_test=x[n:], y_test=test.labels,
                  test_sample_names=[f.relative_to(root).as_posix() for f in test.files])
    return from_arrays(
        x[:n], train.labels, classes=classes, name=name or _name(root),
        test_fraction=test_fraction, seed=seed, source=_source(root, test is not None,
                                                               test_fraction, seed), **kw,
    )


def _name(path: Path) -> str:
    stem = path.name if path.is_dir() else path.stem
    return stem.lower() or "data"


def _source(path: Path, has_test: bool, frac: float, seed: int) -> str:
    # The file itself, as for the built-in datasets (the CLI's output checks compare it with
    # output paths); the split is recorded by the run's dataset_options.
    del has_test, frac, seed
    return str(path)


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------


def _labels_from_text(values: Sequence[str], where: str) -> np.ndarray:
    """Integer labels when every value is an integer, else the values as class names."""
    stripped = [v.strip() for v in values]
    missing = [i for i, v in enumerate(stripped) if v == "" or v.lower() in ("nan", "na", "null")]
    if missing:
        raise UsageError(f"{where}: row {missing[0] + 1} has no label (empty or NaN)")
    try:
        nums = np.array([float(v) for v in stripped])
    except ValueError:
        return np.array(stripped)
    frac = nums != np.rint(nums)
    if frac.any():
        i = int(np.flatnonzero(frac)[0])
        raise UsageError(f"{where}: row {i + 1} has label {stripped[i]!r}, not an integer "
                         "(labels are integers or class names)")
    return nums.astype(np.int64)


def _read_csv(path: Path, label_column: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # -sig: drop a BOM
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise UsageError(f"cannot read {path}: {e}") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise UsageError(f"{path} is empty: expected a header row and one row per example")
    header = [h.strip() for h in rows[0]]
    if label_column not in header:
        raise UsageError(f"{path} has no column {label_column!r} (columns: "
                         f"{', '.join(header[:20])}); name the label column with --label-column")
    body = rows[1:]
    if not body:
        raise UsageError(f"{path} has a header but no rows")
    li = header.index(label_column)
    for i, r in enumerate(body):
        if len(r) != len(header):
            raise UsageError(f"{path}: row {i + 1} has {len(r)} fields, the header has "
                             f"{len(header)}")
    feats = [j for j in range(len(header)) if j != li]
    names = [header[j] for j in feats]
    x = np.empty((len(body), len(feats)), dtype=np.float32)
    for i, r in enumerate(body):
        for k, j in enumerate(feats):
            try:
                x[i, k] = float(r[j])
            except ValueError:
                raise UsageError(f"{path}: row {i + 1}, column {header[j]!r} is {r[j]!r}, not a "
                                 "number (every column but the label must be numeric)") from None
    y = _labels_from_text([r[li] for r in body], f"{path}: column {label_column!r}")
    return x, y, names


def _read_parquet(path: Path, label_column: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    try:
        import pandas as pd
    except ImportError:
        raise UsageError("reading Parquet needs pandas and pyarrow: pip install "
                         "'noisylabels[parquet]'") from None
    try:
        df = pd.read_parquet(path)
    except ImportError:
        raise UsageError("reading Parquet needs pyarrow: pip install 'noisylabels[parquet]'"
                         ) from None
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot read {path}: {e}") from None
    if label_column not in df.columns:
        raise UsageError(f"{path} has no column {label_column!r} (columns: "
                         f"{', '.join(map(str, list(df.columns)[:20]))}); name the label column "
                         "with --label-column")
    if len(df) == 0:
        raise UsageError(f"{path} has no rows")
    feats = [c for c in df.columns if c != label_column]
    bad = [c for c in feats if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise UsageError(f"{path}: column {bad[0]!r} is not numeric (every column but the label "
                         "must be numeric)")
    x = df[feats].to_numpy(dtype=np.float32)
    yc = df[label_column]
    if pd.api.types.is_numeric_dtype(yc):
        y = yc.to_numpy(dtype=np.float64)
    else:
        if yc.isna().any():
            i = int(np.flatnonzero(yc.isna().to_numpy())[0])
            raise UsageError(f"{path}: column {label_column!r}: row {i + 1} has no label")
        y = yc.astype(str).to_numpy()
    return x, y, [str(c) for c in feats]


def load_table(
    path: PathLike,
    *,
    label_column: str | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    name: str | None = None,
) -> DatasetBundle:
    """Read a CSV or Parquet table of numeric features plus a label column into a dataset.

    The test split is ``round(test_fraction * n_c)`` rows of each class, drawn with ``seed``.

    Raises:
        UsageError: An empty table, a missing label column, a non-numeric feature, NaN or
            non-integral labels.
    """
    path = Path(path).expanduser()
    col = DEFAULT_LABEL_COLUMN if label_column is None else label_column
    if not col.strip():
        raise UsageError(
            f"{path}: the label column name is empty: give --label-column NAME "
            f"(default: {DEFAULT_LABEL_COLUMN})"
        )
    try:
        check_memory(path.stat().st_size, str(path))
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e}") from None
    if path.suffix.lower() == ".csv":
        x, y, _ = _read_csv(path, col)
    else:
        x, y, _ = _read_parquet(path, col)
    return from_arrays(x, y, name=name or _name(path), test_fraction=test_fraction, seed=seed,
                       source=_source(path, False, test_fraction, seed),
                       sample_names=[f"row {i + 1}" for i in range(len(y))])


# ---------------------------------------------------------------------------------------------
# npz
# ---------------------------------------------------------------------------------------------


def load_npz(
    path: PathLike, *, test_fraction: float = 0.2, seed: int = 0, name: str | None = None
) -> DatasetBundle:
    """Read ``x_train``, ``y_train`` (and ``x_test``, ``y_test``, ``classes``) from an ``.npz``.

    Arrays are read with ``allow_pickle=False``: object arrays are refused.
    """
    from noisylabels.data import readers

    path = Path(path).expanduser()
    try:
        heads = readers.npz_headers(path)
    except DataError as e:
        raise UsageError(str(e)) from None
    missing = [k for k in ("x_train", "y_train") if k not in heads]
    if missing:
        raise UsageError(f"{path} lacks {', '.join(missing)} (it has: "
                         f"{', '.join(sorted(heads)) or 'no arrays'}); save x_train, y_train and "
                         "optionally x_test, y_test, classes")
    if ("x_test" in heads) != ("y_test" in heads):
        raise UsageError(f"{path}: has only one of x_test and y_test; save both or neither")
    shape, dtype = heads["x_train"]
    check_memory(math.prod(shape) * max(1, min(dtype.itemsize, 4)), str(path))
    keys = [k for k in ("x_train", "y_train", "x_test", "y_test", "classes") if k in heads]
    a = readers.read_npz(path, keys)
    classes = None
    if "classes" in a:
        if a["classes"].dtype.kind not in "US" or a["classes"].ndim != 1:
            raise UsageError(f"{path}: 'classes' must be a 1-D array of strings, got "
                             f"{a['classes'].dtype} {a['classes'].shape}")
        classes = [str(c) for c in a["classes"].tolist()]
    has_test = "x_test" in a
    return from_arrays(
        a["x_train"], a["y_train"], a.get("x_test"), a.get("y_test"), classes=classes,
        name=name or _name(path), test_fraction=test_fraction, seed=seed,
        source=_source(path, has_test, test_fraction, seed),
        sample_names=[f"x_train[{i}]" for i in range(len(a["y_train"]))],
        test_sample_names=[f"x_test[{i}]" for i in range(len(a["y_test"]))] if has_test else None,
    )


# ---------------------------------------------------------------------------------------------
# The formats, one class each: find / headers / decode
# ---------------------------------------------------------------------------------------------


class UserFormat:
    """A kind of user file: which paths it reads, their sizes, and the dataset."""

    name: str = ""
    #: Options this format takes besides ``test_fraction``, ``seed`` and ``name``.
    options: tuple[str, ...] = ()

    def find(self, path: Path) -> bool:
        """Whether ``path`` is of this format."""
        raise NotImplementedError

    def headers(self, path: Path, **options: Any) -> Any:
        """A :class:`~noisylabels.data.datasets.DatasetInfo` (default: from the decoded data)."""
        from noisylabels.data.arrays import info_from_bundle
        from noisylabels.data.datasets import DatasetInfo

        info = info_from_bundle(self.decode(path, **options), f"{self.name} file {path}",
                                str(path))
        return DatasetInfo(**{**info.__dict__, "format": self.name})

    def decode(self, path: Path, **options: Any) -> DatasetBundle:
        """The dataset."""
        raise NotImplementedError


class ImageFolder(UserFormat):
    """``root/<class>/<image>``, optionally ``root/train`` + ``root/test``."""

    name = "image-folder"
    options = ("image_size",)

    def find(self, path: Path) -> bool:
        """Any folder."""
        return path.is_dir()

    def headers(self, path: Path, **options: Any) -> Any:
        """Sizes from the listing and the image headers; nothing is decoded."""
        from noisylabels.data.datasets import DatasetInfo, stratified_split

        size = parse_image_size(options.get("image_size"))
        classes, train, test = _image_splits(path)
        files = list(train.files) + (list(test.files) if test is not None else [])
        sizes, grey = _probe(files)
        h, w = _check_sizes(files, sizes, size)
        if test is None:
            frac = options.get("test_fraction", 0.2)
            _, te = stratified_split(train.labels, float(frac), int(options.get("seed", 0)))
            n_train, n_test = len(train.files) - len(te), len(te)
        else:
            n_train, n_test = len(train.files), len(test.files)
        return DatasetInfo(
            name=options.get("name") or _name(path), description=f"image folder {path}",
            found=True, location=str(path), format=self.name, n_train=n_train, n_test=n_test,
            input_shape=(1 if grey else 3, h, w), num_classes=len(classes),
        )

    def decode(self, path: Path, **options: Any) -> DatasetBundle:
        """See :func:`load_image_folder`."""
        return load_image_folder(path, **options)


class Table(UserFormat):
    """A ``.csv`` or ``.parquet`` table with a label column."""

    name = "table"
    options = ("label_column",)

    def find(self, path: Path) -> bool:
        """A file ending in ``.csv``, ``.parquet`` or ``.pq``."""
        return path.is_file() and path.suffix.lower() in TABLE_SUFFIXES

    def decode(self, path: Path, **options: Any) -> DatasetBundle:
        """See :func:`load_table`."""
        return load_table(path, **options)


class ArraysNpz(UserFormat):
    """An ``.npz`` with ``x_train``, ``y_train`` (and ``x_test``, ``y_test``, ``classes``)."""

    name = "npz"

    def find(self, path: Path) -> bool:
        """A file ending in ``.npz``."""
        return path.is_file() and path.suffix.lower() == ".npz"

    def decode(self, path: Path, **options: Any) -> DatasetBundle:
        """See :func:`load_npz`."""
        return load_npz(path, **options)


#: The formats of your own files, tried in order.
USER_FORMATS: tuple[UserFormat, ...] = (ImageFolder(), Table(), ArraysNpz())

_FLAG = {"label_column": "--label-column", "image_size": "--image-size"}
_APPLIES = {"label_column": ".csv and .parquet tables", "image_size": "image folders"}


def _format_for(path: PathLike, options: dict[str, Any]) -> tuple[UserFormat, Path, dict]:
    p = Path(path).expanduser()
    if not p.exists():
        raise UsageError(f"{path}: no such file or folder")
    fmt = next((f for f in USER_FORMATS if f.find(p)), None)
    if fmt is None:
        raise UsageError(f"{path}: unknown data file type {p.suffix.lower() or '(none)'}; give "
                         "an image folder, a .csv or .parquet table, or an .npz with x_train and "
                         "y_train")
    given = {k: v for k, v in options.items() if v is not None}
    allowed = {"test_fraction", "seed", "name", *fmt.options}
    for key in given:
        if key not in allowed:
            what = "an image folder" if fmt.name == "image-folder" else "a file"
            if key in _FLAG:
                raise UsageError(f"{path} is {what}: {_FLAG[key]} applies to {_APPLIES[key]}")
            raise UsageError(f"unknown option {key!r} for {path}; valid options: "
                             f"{', '.join(sorted(allowed))}")
    return fmt, p, given


def load_path(path: PathLike, **options: Any) -> DatasetBundle:
    """Read a dataset from a folder of images, a ``.csv``/``.parquet`` table or an ``.npz``.

    Args:
        path: The folder or file.
        **options: ``label_column`` (tables; default ``label``), ``image_size`` (image folders:
            ``32`` or ``(H, W)``), ``test_fraction`` (share of each class used as the test split
            when the data have none; default 0.2), ``seed`` (of that split; default 0), ``name``
            (default: the folder name or file stem, lower case).

    Raises:
        UsageError: A missing path, an unknown file type, an option that does not apply to
            the format, or any problem with the contents (naming the file or class).
    """
    fmt, p, given = _format_for(path, options)
    return fmt.decode(p, **given)


def path_info(path: PathLike, **options: Any) -> Any:
    """A :class:`~noisylabels.data.datasets.DatasetInfo` for a file or folder.

    An image folder is described from its listing and the image headers (nothing is decoded);
    tables and ``.npz`` files are read in full (they are small next to images).
    """
    fmt, p, given = _format_for(path, options)
    return fmt.headers(p, **given)
