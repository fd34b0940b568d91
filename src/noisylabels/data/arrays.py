"""Datasets from arrays in memory: :func:`from_arrays` and :func:`register_dataset`.

``from_arrays`` turns numpy arrays or torch tensors into the same
:class:`~noisylabels.data.base.DatasetBundle` that :func:`~noisylabels.data.load_dataset` returns,
so ``run(config, dataset=ds)``, sweeps and label-error detection take a user's own data exactly as
they take a built-in dataset.

Inputs (``x``):

* images ``(N, C, H, W)`` or ``(N, H, W, C)`` with 1 to 4 channels, or grey ``(N, H, W)``. The
  layout is read from the shape: the axis of size <= 4 is the channel axis; when both axis 1 and
  axis 3 are <= 4 (e.g. ``(N, 3, 4, 3)``), channels-first is assumed, as in PyTorch.
  ``uint8`` images are kept as they are. Integer images must lie in 0..255. Float images in
  [0, 1] (the maximum is at most 1) are scaled by 255, float images with a maximum above 1 are
  taken to be on the [0, 255] scale; both are stored as ``uint8`` when that is lossless (every
  value, scaled to [0, 255], is within 1e-3 of an integer), otherwise as ``float32`` on the
  [0, 255] scale, which the trainer normalises alike (``(x / 255 - mean) / std``).
* feature matrices ``(N, D)`` (tabular data, for the ``mlp`` model), stored as ``float32``; the
  trainer standardises each feature with its training mean and standard deviation (a constant
  feature gets a standard deviation of 1).

Labels (``y``) are integers ``0..K-1`` (integral floats are accepted), or class names (strings),
which are mapped through ``classes`` (default: the sorted distinct names). Without ``classes``,
integer labels get the names ``"0"`` .. ``"K-1"`` with ``K = max label + 1``.

Without a test split (``x_test is None``), ``round(test_fraction * n_c)`` examples of each class
``c`` (default ``test_fraction=0.2``), drawn with ``np.random.default_rng(seed)`` (default seed 0),
become the test split; the order within each split is kept. The ``source`` of the bundle says so.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from noisylabels.data.base import DatasetBundle
from noisylabels.data.cache import channel_stats
from noisylabels.errors import UsageError

ArrayLike = Any  # numpy array, torch tensor, or anything np.asarray accepts

#: Largest difference from an integer (on the [0, 255] scale) that still counts as lossless.
_LOSSLESS_TOL = 1e-3


def _to_numpy(a: ArrayLike, what: str) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    try:
        return np.asarray(a)
    except (TypeError, ValueError) as e:
        raise UsageError(f"{what}: cannot be read as an array ({e})") from None


def _channels_first(x: np.ndarray, what: str) -> np.ndarray:
    """``(N, C, H, W)`` from ``(N, C, H, W)``, ``(N, H, W, C)`` or ``(N, H, W)``."""
    if x.ndim == 3:
        return x[:, None]
    c1, c3 = x.shape[1], x.shape[3]
    if c1 <= 4:
        return x
    if c3 <= 4:
        return x.transpose(0, 3, 1, 2)
    raise UsageError(
        f"{what}: images of shape {tuple(x.shape)} have no channel axis of size 1-4; give "
        "(N, C, H, W) or (N, H, W, C)"
    )


def image_array(x: ArrayLike, what: str = "x") -> np.ndarray:
    """Images as contiguous ``(N, C, H, W)``: ``uint8`` when lossless, else ``float32`` 0..255.

    See the module docstring for how the layout and the value scale are decided.

    Raises:
        UsageError: A shape that is not an image batch, NaN/infinite values, or values outside
            the scale.
    """
    x = _to_numpy(x, what)
    if x.ndim not in (3, 4):
        raise UsageError(f"{what}: images must be (N, C, H, W), (N, H, W, C) or (N, H, W), "
                         f"got shape {tuple(x.shape)}")
    x = _channels_first(x, what)
    if x.dtype == np.uint8:
        return np.ascontiguousarray(x)
    if x.dtype.kind == "b" or x.dtype.kind not in "iuf":
        raise UsageError(f"{what}: images must be uint8, integer or float, got {x.dtype}")
    if x.size == 0:
        return np.ascontiguousarray(x, dtype=np.uint8)
    if x.dtype.kind in "iu":
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi > 255:
            raise UsageError(f"{what}: integer images must lie in 0..255, got {lo}..{hi}")
        return np.ascontiguousarray(x, dtype=np.uint8)
    if not np.isfinite(x).all():
        raise UsageError(f"{what}: images hold NaN or infinite values")
    lo, hi = float(x.min()), float(x.max())
    scaled = x.astype(np.float64) * 255.0 if hi <= 1.0 else x.astype(np.float64)
    if lo < 0 or scaled.max() > 255.0 + _LOSSLESS_TOL:
        raise UsageError(
            f"{what}: float images must lie in [0, 1] or [0, 255], got {lo:g}..{hi:g}"
        )
    rounded = np.rint(scaled)
    if np.abs(scaled - rounded).max() <= _LOSSLESS_TOL:
        return np.ascontiguousarray(np.clip(rounded, 0, 255), dtype=np.uint8)
    return np.ascontiguousarray(scaled, dtype=np.float32)


def feature_array(x: ArrayLike, what: str = "x") -> np.ndarray:
    """Features ``(N, D)`` as ``float32``; NaN or infinite values are refused."""
    x = _to_numpy(x, what)
    if x.ndim != 2:
        raise UsageError(f"{what}: features must be (N, D), got shape {tuple(x.shape)}")
    if x.dtype.kind not in "iufb":
        raise UsageError(f"{what}: features must be numbers, got {x.dtype}")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        raise UsageError(f"{what}: row {int(bad[0])}, column {int(bad[1])} is NaN or infinite")
    return x


def encode_labels(
    y: ArrayLike, classes: Sequence[str] | None, what: str = "y"
) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """Labels as ``int64`` class indices, plus the class names when ``y`` holds names.

    Integer labels (or integral floats) are returned as they are; string labels are looked up in
    ``classes`` (default: their sorted distinct values, which are then returned).

    Raises:
        UsageError: NaN or non-integral numbers, a name not in ``classes``, or a shape that is
            not ``(N,)``.
    """
    y = _to_numpy(y, what)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise UsageError(f"{what}: labels must be one-dimensional (N,), got shape {tuple(y.shape)}")
    if y.dtype.kind in "USO":
        names = [str(v) for v in y.tolist()]
        if y.dtype.kind == "O" and any(isinstance(v, float) and math.isnan(v) for v in y.tolist()):
            raise UsageError(f"{what}: labels hold missing values (NaN)")
        known = tuple(classes) if classes is not None else tuple(sorted(set(names)))
        index = {c: i for i, c in enumerate(known)}
        missing = sorted({n for n in names if n not in index})
        if missing:
            shown = ", ".join(repr(m) for m in missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise UsageError(f"{what}: label(s) {shown} not in the class list "
                             f"({', '.join(known[:10])}{' ...' if len(known) > 10 else ''})")
        return np.array([index[n] for n in names], dtype=np.int64), known
    if y.dtype.kind == "b" or y.dtype.kind not in "iuf":
        raise UsageError(f"{what}: labels must be integers or class names, got {y.dtype}")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            i = int(np.flatnonzero(~np.isfinite(y))[0])
            raise UsageError(f"{what}: label {i} is NaN or infinite; labels must be integers")
        frac = y != np.rint(y)
        if frac.any():
            i = int(np.flatnonzero(frac)[0])
            raise UsageError(f"{what}: label {i} is {float(y[i]):g}, not an integer")
    return y.astype(np.int64), None


def check_labels(y: np.ndarray, k: int, what: str, classes: Sequence[str] | None = None) -> None:
    """Raise :class:`UsageError` if a label lies outside ``0..k-1``."""
    if len(y) == 0:
        return
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= k:
        bad = lo if lo < 0 else hi
        names = f" ({', '.join(classes[:10])}{' ...' if k > 10 else ''})" if classes else ""
        raise UsageError(f"{what}: label {bad} is outside the class list 0..{k - 1}{names}")


def feature_stats(x: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-feature mean and population standard deviation (1 where a feature is constant)."""
    if len(x) == 0:
        return (0.0,) * x.shape[1], (1.0,) * x.shape[1]
    x64 = x.astype(np.float64)
    mean, std = x64.mean(axis=0), x64.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return tuple(float(m) for m in mean), tuple(float(s) for s in std)


def image_stats(x: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation on the [0, 1] scale (uint8 or float32 0..255)."""
    if x.dtype == np.uint8:
        return channel_stats(x)
    if x.shape[0] == 0:
        return (0.0,) * x.shape[1], (1.0,) * x.shape[1]
    x64 = x.astype(np.float64) / 255.0
    mean = x64.mean(axis=(0, 2, 3))
    std = x64.std(axis=(0, 2, 3))
    return tuple(float(m) for m in mean), tuple(float(s) for s in std)


# ---------------------------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------------------------


def available_memory() -> int | None:
    """Bytes of memory available to new allocations (``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    raise AssertionError  # pragma: no cover


def check_memory(nbytes: int, what: str, available: int | None = None) -> None:
    """Refuse early when a dataset of ``nbytes`` would not fit in the available memory.

    Training holds the whole set in memory (and the trainer copies the training split once), so
    twice the decoded size must be available.

    Raises:
        UsageError: Naming ``what``, the estimated size and the available memory.
    """
    avail = available_memory() if available is None else available
    if avail is None:
        return
    need = 2 * int(nbytes)
    if need > avail:
        raise UsageError(
            f"{what}: the decoded data take an estimated {_fmt_bytes(nbytes)} (about "
            f"{_fmt_bytes(need)} while training) but only {_fmt_bytes(avail)} of memory is "
            "available; use fewer or smaller images (--image-size)"
        )


# ---------------------------------------------------------------------------------------------
# from_arrays
# ---------------------------------------------------------------------------------------------


#: Integer labels without class names make classes 0..max; a larger max than this (and than
#: the sample count) is a wrong label, not a class list (one label 10**12 would need 10**12 names).
MAX_UNNAMED_CLASSES = 10_000


def _inputs(x: ArrayLike, what: str) -> np.ndarray:
    arr = _to_numpy(x, what)
    if arr.ndim == 2:
        if arr.shape[1] == 0:
            raise UsageError(f"{what}: no feature columns (shape {tuple(arr.shape)}); every "
                             "column but the label is a feature")
        return feature_array(arr, what)
    if arr.ndim in (3, 4):
        return image_array(arr, what)
    raise UsageError(f"{what}: inputs must be images (N, C, H, W), (N, H, W, C), (N, H, W) or "
                     f"features (N, D), got shape {tuple(arr.shape)}")


def from_arrays(
    x_train: ArrayLike,
    y_train: ArrayLike,
    x_test: ArrayLike | None = None,
    y_test: ArrayLike | None = None,
    classes: Sequence[str] | None = None,
    name: str | None = None,
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    source: str | None = None,
    sample_names: Sequence[str] | None = None,
    test_sample_names: Sequence[str] | None = None,
) -> DatasetBundle:
    """A dataset from arrays (numpy or torch), as :func:`~noisylabels.data.load_dataset` gives.

    Args:
        x_train: Training inputs: images ``(N, C, H, W)``/``(N, H, W, C)``/``(N, H, W)``
            (``uint8``, integer 0..255, or float in [0, 1] or [0, 255]) or features ``(N, D)``.
        y_train: Training labels ``(N,)``: integers ``0..K-1`` or class names.
        x_test: Test inputs in the same form, or None for a stratified split of the training set.
        y_test: Test labels (given exactly when ``x_test`` is).
        classes: Class names, index = label. Default: the sorted names when the labels are
            names, else ``"0"`` .. ``"K-1"`` with ``K`` one more than the largest label.
        name: Dataset name recorded in results (default ``"arrays"``).
        test_fraction: Share of each class moved to the test split when no test set is given.
        seed: Seed of that split (``np.random.default_rng(seed)``; global RNG untouched).
        source: Where the data came from, for the record (default: a description of the call).
        sample_names: A name for each row of ``x_train`` (a file path, a table row), carried
            through the split into the bundle's ``sample_names``; None for none.
        test_sample_names: The same for ``x_test`` (given with ``sample_names``).

    Returns:
        A :class:`~noisylabels.data.base.DatasetBundle` with ``mean``/``std`` computed on the
        training split (per channel on the [0, 1] scale for images, per feature otherwise).

    Raises:
        UsageError: Shapes or lengths that do not match, labels outside the class list,
            NaN or non-integral labels, values off the image scale, too little memory.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).integers(0, 256, (50, 8, 8, 3), dtype=np.uint8)
        >>> ds = from_arrays(x, np.arange(50) % 2, name="toy")
        >>> ds.x_train.shape, ds.x_test.shape, ds.classes
        (torch.Size([40, 3, 8, 8]), torch.Size([10, 3, 8, 8]), ('0', '1'))
    """
    from noisylabels.data.datasets import stratified_split

    name = name or "arrays"
    if (x_test is None) != (y_test is None):
        raise UsageError(f"{name}: give x_test and y_test together, or neither")
    xtr = _inputs(x_train, f"{name}: x_train")
    ytr, names = encode_labels(y_train, classes, f"{name}: y_train")
    if len(xtr) != len(ytr):
        raise UsageError(f"{name}: x_train has {len(xtr)} rows but y_train has {len(ytr)} labels")
    if len(xtr) == 0:
        raise UsageError(f"{name}: the training set is empty")
    check_memory(xtr.nbytes, name)
    if classes is not None:
        names = tuple(str(c) for c in classes)
        twice = sorted(c for c, n in Counter(names).items() if n > 1)
        if twice:
            raise UsageError(f"{name}: class {twice[0]!r} is listed twice in classes; give each "
                             "class one name")
    if x_test is not None:
        xte = _inputs(x_test, f"{name}: x_test")
        yte, _ = encode_labels(y_test, names, f"{name}: y_test")
        if len(xte) != len(yte):
            raise UsageError(f"{name}: x_test has {len(xte)} rows but y_test has {len(yte)} labels")
        if xte.shape[1:] != xtr.shape[1:]:
            raise UsageError(f"{name}: x_test rows have shape {tuple(xte.shape[1:])}, x_train rows "
                             f"{tuple(xtr.shape[1:])}")
        if xte.dtype != xtr.dtype:  # one exact, one not: keep both exact as float32
            xtr, xte = xtr.astype(np.float32), xte.astype(np.float32)
        split_note = "test arrays given"
    else:
        frac = test_fraction
        if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 < frac < 1:
            raise UsageError(f"{name}: test_fraction must be in (0, 1), got {frac!r}")
        tr, te = stratified_split(ytr, float(frac), int(seed))
        xtr, xte, yte, ytr = xtr[tr], xtr[te], ytr[te], ytr[tr]
        if sample_names is not None:
            test_sample_names = [sample_names[i] for i in te]
            sample_names = [sample_names[i] for i in tr]
        split_note = f"stratified split test_fraction={frac}, seed={seed}"
    if len(xte) == 0:
        raise UsageError(f"{name}: the test split is empty ({split_note}); give more samples per "
                         "class, a larger test_fraction, or test data")
    if names is None:
        k = int(max(ytr.max(initial=-1), yte.max(initial=-1))) + 1
        n = len(ytr) + len(yte)
        if k > max(MAX_UNNAMED_CLASSES, n):
            raise UsageError(f"{name}: label {k - 1} would make {k} classes from {n} samples; "
                             "labels are class indices 0..K-1 (or class names)")
        names = tuple(str(i) for i in range(max(k, 1)))
    check_labels(ytr, len(names), f"{name}: y_train", names)
    check_labels(yte, len(names), f"{name}: y_test", names)
    if len(names) < 2:
        raise UsageError(f"{name}: needs at least 2 classes, got {len(names)}")
    mean, std = image_stats(xtr) if xtr.ndim == 4 else feature_stats(xtr)
    return DatasetBundle(
        name=name,
        x_train=torch.from_numpy(np.ascontiguousarray(xtr)),
        y_train=torch.from_numpy(np.ascontiguousarray(ytr)),
        x_test=torch.from_numpy(np.ascontiguousarray(xte)),
        y_test=torch.from_numpy(np.ascontiguousarray(yte)),
        classes=tuple(names),
        source=source or f"from_arrays ({split_note})",
        mean=mean,
        std=std,
        sample_names=_names(sample_names, test_sample_names, len(xtr), len(xte), name),
    )


def _names(
    train: Sequence[str] | None, test: Sequence[str] | None, n_train: int, n_test: int, name: str
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    if train is None:
        return None
    if test is None or len(train) != n_train or len(test) != n_test:
        raise UsageError(
            f"{name}: give one sample name per row of x_train and of x_test, or none"
        )
    return tuple(map(str, train)), tuple(map(str, test))


# ---------------------------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisteredDataset:
    """A dataset registered from user code: a bundle, or a function that returns one.

    Called like the built-in specs (``spec(root, download=..., **options)``), so
    :func:`~noisylabels.data.load_dataset`, :func:`~noisylabels.data.dataset_info`, config checks
    and sweeps (in-process) treat it like a built-in dataset.
    """

    name: str
    factory: Callable[..., DatasetBundle]
    description: str = ""

    def __call__(self, root: Any = None, *, download: bool = True, **options: Any) -> DatasetBundle:
        """The bundle, renamed to the registered name."""
        del root, download
        ds = self.factory(**options)
        if not isinstance(ds, DatasetBundle):
            raise UsageError(f"dataset {self.name!r}: its function returned a "
                             f"{type(ds).__name__}, not a DatasetBundle (use from_arrays)")
        return ds if ds.name == self.name else replace(ds, name=self.name)

    def info(self, root: Any = None) -> Any:
        """Sizes and shapes, from the bundle (a function is called once for them)."""
        return info_from_bundle(self(root), self.description or f"registered dataset {self.name}",
                                "registered in Python")


def info_from_bundle(ds: DatasetBundle, description: str, location: str) -> Any:
    """A :class:`~noisylabels.data.datasets.DatasetInfo` describing a loaded bundle."""
    from noisylabels.data.datasets import DatasetInfo

    return DatasetInfo(
        name=ds.name, description=description, found=True, location=location,
        format="arrays", n_train=len(ds.y_train), n_test=len(ds.y_test),
        input_shape=ds.input_shape, num_classes=ds.num_classes,
    )


def register_dataset(
    name: str,
    dataset: DatasetBundle | Callable[..., DatasetBundle],
    *,
    description: str | None = None,
) -> RegisteredDataset:
    """Register a dataset under ``name`` so configs, the CLI in this process and sweeps find it.

    Args:
        name: The name configs use (``TrainConfig(dataset=name)``); must not be taken.
        dataset: A bundle (from :func:`from_arrays` or :func:`~noisylabels.data.load_dataset`)
            or a function returning one (called on every load: keep it cheap, or cache).
        description: One line for ``noisylabels datasets``.

    Returns:
        The registered spec.

    Raises:
        ValueError: If ``name`` is already registered.

    Sweeps that run in worker processes (``--workers`` above 1) start fresh interpreters that
    do not run the registering code; run those sweeps with one worker, or register the dataset
    in a module the workers import.
    """
    from noisylabels.data.datasets import DATASETS

    if isinstance(dataset, DatasetBundle):
        bundle = dataset

        def factory(**options: Any) -> DatasetBundle:
            if options:
                raise UsageError(f"dataset {name!r} takes no options, got {', '.join(options)}")
            return bundle

        desc = description or f"registered dataset ({bundle.source})"
    elif callable(dataset):
        factory = dataset
        desc = description or (dataset.__doc__ or "").strip().split("\n")[0] or \
            "registered dataset"
    else:
        raise UsageError(f"register_dataset({name!r}, ...): expected a DatasetBundle or a "
                         f"function returning one, got {type(dataset).__name__}")
    spec = RegisteredDataset(name=name.lower(), factory=factory, description=desc)
    DATASETS.register(name, help=desc)(spec)
    return spec


def unregister_dataset(name: str) -> None:
    """Remove a dataset registered with :func:`register_dataset` (built-ins cannot be removed)."""
    from noisylabels.data.datasets import DATASETS

    spec = DATASETS.get(name)
    if not isinstance(spec, RegisteredDataset):
        raise UsageError(f"dataset {name!r} is built in and cannot be unregistered")
    DATASETS.unregister(name)
