"""The dataset registry and :func:`load_dataset`.

Every dataset is a callable registered in :data:`DATASETS`; ``load_dataset(name, root, ...)``
looks it up and returns a :class:`~noisylabels.data.base.DatasetBundle`. File-backed datasets
(``mnist``, ``fashion-mnist``, ``cifar10``, ``cifar100``) are searched for in the folders of
:func:`noisylabels.data.paths.search_dirs` (explicit ``root``, ``$NOISYLABELS_DATA``, the user
cache, ``/usr/share/datasets``), first match wins; when nothing is found and ``download=True``
the official files are downloaded into the user cache and checked against their published MD5.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from noisylabels.data import cache, paths
from noisylabels.data.base import DatasetBundle
from noisylabels.data.classes import (
    CIFAR10_CLASSES,
    CIFAR100_CLASSES,
    DIGIT_CLASSES,
    FASHION_MNIST_CLASSES,
    asymmetric_map,
)
from noisylabels.data.download import DownloadError, Resource
from noisylabels.data.download import download as fetch_resource
from noisylabels.data.formats import FORMATS, IDX_FILES, FileFormat, Found
from noisylabels.errors import DataError, UsageError
from noisylabels.registry import Registry

PathArg = str | os.PathLike[str] | None

DATASETS: Registry[Any] = Registry("dataset")


@dataclass(frozen=True)
class DatasetInfo:
    """What :func:`dataset_info` knows about a dataset without loading it in full.

    Attributes:
        name: Registry name.
        description: One line about the dataset.
        found: Whether the data are available (always True for embedded/generated sets).
        location: The file or folder it would be loaded from, or how it is produced.
        format: ``"npz"``, ``"cifar-folder"``, ``"cifar-tar"``, ``"idx"``, ``"embedded"`` or
            ``"generated"`` (None when not found).
        n_train: Training examples (None when unknown).
        n_test: Test examples (None when unknown).
        input_shape: Shape of one input, ``(C, H, W)`` or ``(D,)``.
        num_classes: Number of classes.
        problem: Why a found file cannot be used (unreadable header, ...), else None.
        download_urls: Where the official files come from (empty when nothing to download).
        default_model: The model ``model="auto"`` picks for it (None: by input shape).
        default_augment: The augmentation ``augment="auto"`` picks (None: by input shape).
    """

    name: str
    description: str
    found: bool
    location: str | None
    format: str | None
    n_train: int | None
    n_test: int | None
    input_shape: tuple[int, ...]
    num_classes: int
    problem: str | None = None
    download_urls: tuple[str, ...] = ()
    default_model: str | None = None
    default_augment: str | None = None


def _check_options(name: str, options: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        valid = ", ".join(allowed) if allowed else "none"
        raise UsageError(f"unknown option(s) {', '.join(unknown)} for dataset {name!r}; "
                         f"valid options: {valid}")


def _bundle(
    name: str,
    arrays: Mapping[str, np.ndarray],
    classes: tuple[str, ...],
    source: str,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    defaults: tuple[str | None, str | None] = (None, None),
) -> DatasetBundle:
    def t(a: np.ndarray, dtype: np.dtype) -> torch.Tensor:
        a = np.ascontiguousarray(a, dtype=dtype)
        if not a.flags.writeable:  # torch warns on read-only buffers
            a = a.copy()
        return torch.from_numpy(a)

    xdt = arrays["x_train"].dtype
    return DatasetBundle(
        name=name,
        x_train=t(arrays["x_train"], xdt),
        y_train=t(arrays["y_train"], np.dtype(np.int64)),
        x_test=t(arrays["x_test"], xdt),
        y_test=t(arrays["y_test"], np.dtype(np.int64)),
        classes=classes,
        source=source,
        mean=tuple(float(m) for m in mean),
        std=tuple(float(s) for s in std),
        default_model=defaults[0],
        default_augment=defaults[1],
        asymmetric_map=asymmetric_map(name),
    )


# ---------------------------------------------------------------------------------------------
# File-backed datasets
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _CifarLayout:
    folder: str  # extracted folder, also the prefix inside the archive
    archive: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    label_key: str
    coarse_key: str | None = None


@dataclass(frozen=True)
class FileDataset:
    """A dataset read from files: where to look, how to read them, where to download them.

    Called as ``spec(root=None, *, download=True, cache=True)`` it returns the bundle.
    """

    name: str
    description: str
    classes: tuple[str, ...]
    image_shape: tuple[int, int, int]
    n_train: int
    n_test: int
    subdirs: tuple[str, ...]
    resources: tuple[Resource, ...]
    cifar: _CifarLayout | None = None
    hint: str = ""
    npz_names: tuple[str, ...] = field(default=())
    default_model: str | None = None
    default_augment: str | None = None

    # -- locating ------------------------------------------------------------------------------

    @property
    def formats(self) -> tuple[FileFormat, ...]:
        """The file formats tried in each folder, in order."""
        names = ("npz", "cifar-folder", "cifar-tar") if self.cifar is not None else ("npz", "idx")
        return tuple(FORMATS[n] for n in names)

    def _candidates(self, base: Path, explicit: bool) -> Found | str | None:
        """A complete copy under ``base``, a note about an incomplete one, or None."""
        note = None
        for fmt in self.formats:
            hit = fmt.find(base, self, explicit)
            if isinstance(hit, Found):
                return hit
            note = note or hit
        return note

    def locate(self, root: PathArg = None) -> tuple[Found | None, list[str]]:
        """First complete copy over the search folders, plus notes on incomplete ones seen."""
        notes: list[str] = []
        explicit = Path(root).expanduser() if root is not None else None
        for d in paths.search_dirs(root):
            for sub in ("", *self.subdirs):
                base = d / sub if sub else d
                hit = self._candidates(base, explicit=bool(sub) or d == explicit)
                if isinstance(hit, Found):
                    return hit, notes
                if hit:
                    notes.append(hit)
        return None, notes

    # -- decoding ------------------------------------------------------------------------------

    def _validate(self, arrays: dict[str, np.ndarray], where: str) -> dict[str, np.ndarray]:
        out = {}
        for split in ("train", "test"):
            x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
            if x.dtype != np.uint8 or tuple(x.shape[1:]) != self.image_shape:
                raise DataError(
                    f"{where}: {split} images must be uint8 of shape (N, "
                    f"{', '.join(map(str, self.image_shape))}) for {self.name}, got {x.dtype} "
                    f"{tuple(x.shape)}"
                )
            if y.ndim != 1 or y.dtype.kind not in "iu" or len(y) != len(x):
                raise DataError(
                    f"{where}: {split} labels must be {len(x)} integers, got {y.dtype} "
                    f"{tuple(y.shape)}"
                )
            k = len(self.classes)
            if len(y) and (int(y.min()) < 0 or int(y.max()) >= k):
                raise DataError(
                    f"{where}: {split} labels range {int(y.min())}..{int(y.max())}, outside "
                    f"0..{k - 1} for {self.name}"
                )
            out[f"x_{split}"] = np.ascontiguousarray(x)
            out[f"y_{split}"] = y.astype(np.int64)
        return out

    def _decode(self, found: Found) -> dict[str, np.ndarray]:
        return self._validate(FORMATS[found.format].decode(found, self), str(found.path))

    # -- public --------------------------------------------------------------------------------

    def _not_found(self, root: PathArg, notes: list[str], why: str) -> DataError:
        env = os.environ.get(paths.ENV_VAR, "")
        env_dirs = {Path(p).expanduser() for p in env.split(os.pathsep) if p}
        labelled = []
        for d in paths.search_dirs(root):
            tags = []
            if root is not None and d == Path(root).expanduser():
                tags.append("root")
            if d in env_dirs:
                tags.append(paths.ENV_VAR)
            if d == paths.cache_dir():
                tags.append("user cache")
            if d == paths.DEBIAN_DIR:
                tags.append("Debian datasets")
            if not d.is_dir():
                tags.append("not a folder" if d.exists() else "missing")
            labelled.append(f"{d} ({', '.join(tags)})" if tags else str(d))
        if self.cifar is not None:
            wanted = [*self.npz_names, self.cifar.folder + "/", self.cifar.archive]
            where = f"directly or in a subfolder {self.subdirs[0]}/"
        else:
            wanted = [*self.npz_names, "the four idx files " + ", ".join(
                f"{s}[.gz]" for _, s in IDX_FILES)]
            where = f"the npz directly or in a subfolder {self.subdirs[0]}/, the idx files in " \
                f"{' or '.join(s + '/' for s in self.subdirs)} (or directly in root)"
        msg = (
            f"dataset {self.name!r} not found ({why}). Looked in: {'; '.join(labelled)} — "
            f"{where} — for {' or '.join(wanted)}."
        )
        if notes:
            msg += f" Incomplete copies: {'; '.join(notes)}."
        base_url = self.resources[0].urls[0].rsplit("/", 1)[0] + "/"
        names = [r.filename for r in self.resources]
        urls = base_url + names[0] if len(names) == 1 else f"{base_url} ({', '.join(names)})"
        msg += (
            f" To provide it: copy the files into one of these folders, set {paths.ENV_VAR}=DIR, "
            f"or pass root=DIR (CLI: --root DIR); the official files are at {urls}"
        )
        if self.hint:
            msg += f"; {self.hint}"
        return DataError(msg + ".")

    def _download(self, root: PathArg, notes: list[str]) -> None:
        dest = paths.cache_dir() / self.subdirs[0]
        try:
            for res in self.resources:
                fetch_resource(res, dest)
        except DownloadError as e:
            for d in (dest, paths.cache_dir()):  # leave no empty folders behind
                try:
                    d.rmdir()
                except OSError:
                    break
            raise self._not_found(root, notes, f"download failed: {'; '.join(e.errors)}") from None

    def __call__(
        self, root: PathArg = None, *, download: bool = True, **options: Any
    ) -> DatasetBundle:
        """Load the dataset (see :func:`load_dataset`); the only option is ``cache``."""
        _check_options(self.name, options, ("cache",))
        use_cache = bool(options.get("cache", True))
        found, notes = self.locate(root)
        if found is None:
            if not download:
                raise self._not_found(root, notes, "download=False, so nothing was downloaded")
            self._download(root, notes)
            found, notes = self.locate(root)
            if found is None:  # pragma: no cover - the download landed where we search
                raise self._not_found(root, notes, "downloaded files were not found afterwards")
        arrays, meta = cache.load_or_decode(
            self.name, found.files, str(found.path), lambda: self._decode(found), enabled=use_cache
        )
        return _bundle(
            self.name, arrays, self.classes, str(found.path), tuple(meta["mean"]),
            tuple(meta["std"]), (self.default_model, self.default_augment),
        )

    def info(self, root: PathArg = None) -> DatasetInfo:
        """Where the dataset is and its sizes, from file headers only."""
        found, notes = self.locate(root)
        urls = tuple(r.urls[0] for r in self.resources)
        base = dict(
            name=self.name, description=self.description, input_shape=self.image_shape,
            num_classes=len(self.classes), download_urls=urls,
            default_model=self.default_model, default_augment=self.default_augment,
        )
        if found is None:
            problem = f"incomplete: {'; '.join(notes)}" if notes else None
            return DatasetInfo(found=False, location=None, format=None, n_train=None,
                               n_test=None, problem=problem, **base)
        n_train: int | None
        n_test: int | None
        problem = None
        try:
            n_train, n_test = FORMATS[found.format].headers(found, self)
        except (DataError, KeyError, IndexError) as e:
            n_train = n_test = None
            problem = str(e) if isinstance(e, DataError) else f"{found.path}: missing {e}"
        return DatasetInfo(found=True, location=str(found.path), format=found.format,
                           n_train=n_train, n_test=n_test, problem=problem, **base)


_CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/"
_MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                  "http://yann.lecun.com/exdb/mnist/")
_FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

# MD5s as published with the datasets (and checked by torchvision).
_MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
_FASHION_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}

_FILE_DATASETS = (
    FileDataset(
        name="mnist",
        default_model="cnn28",
        default_augment="none",
        description="MNIST handwritten digits, 28x28 grey, 10 classes",
        classes=DIGIT_CLASSES,
        image_shape=(1, 28, 28),
        n_train=60000,
        n_test=10000,
        npz_names=("mnist.npz",),
        subdirs=("mnist", "MNIST/raw"),
        resources=tuple(
            Resource(f, tuple(m + f for m in _MNIST_MIRRORS), md5) for f, md5 in _MNIST_MD5.items()
        ),
    ),
    FileDataset(
        name="fashion-mnist",
        default_model="cnn28",
        default_augment="none",
        description="Fashion-MNIST clothing images, 28x28 grey, 10 classes",
        classes=FASHION_MNIST_CLASSES,
        image_shape=(1, 28, 28),
        n_train=60000,
        n_test=10000,
        npz_names=("fashion-mnist.npz", "fashion_mnist.npz"),
        subdirs=("fashion-mnist", "fashion_mnist", "FashionMNIST/raw"),
        resources=tuple(Resource(f, (_FASHION_URL + f,), md5) for f, md5 in _FASHION_MD5.items()),
        hint="on Debian/Ubuntu `apt-get install dataset-fashion-mnist` installs it in "
        "/usr/share/datasets/fashion-mnist",
    ),
    FileDataset(
        name="cifar10",
        default_model="seed-cnn",
        default_augment="crop+flip",
        description="CIFAR-10 natural images, 32x32 RGB, 10 classes",
        classes=CIFAR10_CLASSES,
        image_shape=(3, 32, 32),
        n_train=50000,
        n_test=10000,
        npz_names=("cifar10.npz", "cifar-10.npz"),
        subdirs=("cifar10", "cifar-10"),
        cifar=_CifarLayout(
            folder="cifar-10-batches-py",
            archive="cifar-10-python.tar.gz",
            train=tuple(f"data_batch_{i}" for i in range(1, 6)),
            test=("test_batch",),
            label_key="labels",
        ),
        resources=(
            Resource("cifar-10-python.tar.gz", (_CIFAR10_URL + "cifar-10-python.tar.gz",),
                     "c58f30108f718f92721af3b95e74349a"),
        ),
    ),
    FileDataset(
        name="cifar100",
        default_model="seed-cnn",
        default_augment="crop+flip",
        description="CIFAR-100 natural images, 32x32 RGB, 100 fine classes (20 superclasses)",
        classes=CIFAR100_CLASSES,
        image_shape=(3, 32, 32),
        n_train=50000,
        n_test=10000,
        npz_names=("cifar100.npz", "cifar-100.npz"),
        subdirs=("cifar100", "cifar-100"),
        cifar=_CifarLayout(
            folder="cifar-100-python",
            archive="cifar-100-python.tar.gz",
            train=("train",),
            test=("test",),
            label_key="fine_labels",
            coarse_key="coarse_labels",
        ),
        resources=(
            Resource("cifar-100-python.tar.gz", (_CIFAR10_URL + "cifar-100-python.tar.gz",),
                     "eb9058c3a382ffc7106e4002c42a8d85"),
        ),
    ),
)

for _spec in _FILE_DATASETS:
    DATASETS.register(_spec.name, help=_spec.description)(_spec)


# ---------------------------------------------------------------------------------------------
# Embedded and generated datasets
# ---------------------------------------------------------------------------------------------


def _int_option(name: str, key: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise UsageError(f"{name}: {key} must be an integer >= {low}, got {value!r}")
    return int(value)


def stratified_split(
    y: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted train and test indices with ``round(test_fraction * n_c)`` test items per class.

    Uses its own ``np.random.default_rng(seed)`` (global RNG state is untouched).
    """
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        test.append(idx[: round(test_fraction * len(idx))])
    test_idx = np.sort(np.concatenate(test)) if test else np.empty(0, dtype=np.int64)
    mask = np.ones(len(y), dtype=bool)
    mask[test_idx] = False
    return np.flatnonzero(mask), test_idx


#: Images per class in scikit-learn's digits (1797 in all); lets ``info`` skip importing sklearn.
DIGITS_CLASS_COUNTS = (178, 182, 177, 183, 181, 182, 181, 179, 174, 180)


@dataclass(frozen=True)
class DigitsDataset:
    """scikit-learn's embedded 8x8 digits, scaled to uint8 and split train/test per class."""

    name: str = "digits"
    description: str = "scikit-learn's 8x8 handwritten digits (embedded, 1797 images), 10 classes"
    input_shape: tuple[int, ...] = (1, 8, 8)
    default_model: str = "mlp"
    default_augment: str = "none"

    def __call__(
        self, root: PathArg = None, *, download: bool = True, **options: Any
    ) -> DatasetBundle:
        """Load digits: options ``test_fraction`` (default 0.2) and ``seed`` (default 0).

        The 0..16 pixel values become ``round(v * 255 / 16)`` (uint8, 0..255); each class puts
        ``round(test_fraction * n_c)`` of its images, drawn with ``np.random.default_rng(seed)``,
        in the test split (original order kept within each split).
        """
        del root, download  # embedded: nothing to find or fetch
        _check_options(self.name, options, ("test_fraction", "seed"))
        frac = options.get("test_fraction", 0.2)
        if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 < frac < 1:
            raise UsageError(f"digits: test_fraction must be in (0, 1), got {frac!r}")
        seed = _int_option(self.name, "seed", options.get("seed", 0), 0)
        from sklearn.datasets import load_digits

        d = load_digits()
        x = np.rint(d.data * (255.0 / 16.0)).astype(np.uint8).reshape(-1, 1, 8, 8)
        y = d.target.astype(np.int64)
        tr, te = stratified_split(y, float(frac), seed)
        arrays = {"x_train": x[tr], "y_train": y[tr], "x_test": x[te], "y_test": y[te]}
        mean, std = cache.channel_stats(arrays["x_train"])
        source = (
            f"scikit-learn load_digits (embedded), stratified split test_fraction={frac}, "
            f"seed={seed}"
        )
        return _bundle(self.name, arrays, DIGIT_CLASSES, source, mean, std,
                       (self.default_model, self.default_augment))

    def info(self, root: PathArg = None) -> DatasetInfo:
        """Sizes of the default split (from the known class counts, without loading)."""
        n_test = sum(round(0.2 * n) for n in DIGITS_CLASS_COUNTS)
        return DatasetInfo(
            name=self.name, description=self.description, found=True,
            location="embedded in scikit-learn", format="embedded",
            n_train=sum(DIGITS_CLASS_COUNTS) - n_test, n_test=n_test,
            input_shape=self.input_shape, num_classes=10,
            default_model=self.default_model, default_augment=self.default_augment,
        )


def make_moons(
    n: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` two-moons points: ``n // 2`` of class 0, the rest class 1, in random order.

    Class 0 lies on the upper half circle ``(cos t, sin t)``, class 1 on the lower one
    ``(1 - cos t, 1/2 - sin t)``, with ``t ~ U(0, pi)`` and Gaussian noise of standard deviation
    ``noise`` added to both coordinates (the geometry of scikit-learn's ``make_moons``, with
    random rather than evenly spaced ``t``).
    """
    n0 = n // 2
    t = rng.uniform(0.0, math.pi, size=n)
    y = np.zeros(n, dtype=np.int64)
    y[n0:] = 1
    x = np.where(
        (y == 0)[:, None],
        np.stack([np.cos(t), np.sin(t)], axis=1),
        np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1),
    )
    x = x + rng.normal(0.0, noise, size=x.shape)
    order = rng.permutation(n)
    return x[order].astype(np.float32), y[order]


@dataclass(frozen=True)
class MoonsDataset:
    """Two interleaving half circles, generated from a seed."""

    name: str = "moons"
    description: str = "two moons, 2-D points generated from a seed, 2 classes"
    input_shape: tuple[int, ...] = (2,)
    default_model: str = "mlp"
    default_augment: str = "none"
    defaults: tuple[tuple[str, Any], ...] = (
        ("n_train", 1000), ("n_test", 1000), ("noise", 0.1), ("seed", 0),
    )

    def __call__(
        self, root: PathArg = None, *, download: bool = True, **options: Any
    ) -> DatasetBundle:
        """Generate moons; options ``n_train``, ``n_test`` (1000), ``noise`` (0.1), ``seed`` (0).

        Train and test points are drawn one after the other from ``np.random.default_rng(seed)``;
        features are ``float32`` of shape ``(N, 2)``, ``mean``/``std`` are per feature on train.
        """
        del root, download
        opts = dict(self.defaults)
        _check_options(self.name, options, tuple(opts))
        opts.update(options)
        n_train = _int_option(self.name, "n_train", opts["n_train"], 2)
        n_test = _int_option(self.name, "n_test", opts["n_test"], 2)
        seed = _int_option(self.name, "seed", opts["seed"], 0)
        noise = opts["noise"]
        if (isinstance(noise, bool) or not isinstance(noise, (int, float))
                or not math.isfinite(noise) or noise < 0):
            raise UsageError(f"moons: noise must be a finite number >= 0, got {noise!r}")
        rng = np.random.default_rng(seed)
        x_tr, y_tr = make_moons(n_train, float(noise), rng)
        x_te, y_te = make_moons(n_test, float(noise), rng)
        arrays = {"x_train": x_tr, "y_train": y_tr, "x_test": x_te, "y_test": y_te}
        mean = x_tr.astype(np.float64).mean(axis=0)
        std = x_tr.astype(np.float64).std(axis=0)
        source = f"generated: two moons, n_train={n_train}, n_test={n_test}, noise={noise}, " \
            f"seed={seed}"
        return _bundle(self.name, arrays, ("upper", "lower"), source, tuple(mean), tuple(std),
                       (self.default_model, self.default_augment))

    def info(self, root: PathArg = None) -> DatasetInfo:
        """Sizes with the default options."""
        d = dict(self.defaults)
        return DatasetInfo(
            name=self.name, description=self.description, found=True,
            location=f"generated (n_train, n_test, noise={d['noise']}, seed configurable)",
            format="generated", n_train=d["n_train"], n_test=d["n_test"],
            input_shape=self.input_shape, num_classes=2,
            default_model=self.default_model, default_augment=self.default_augment,
        )


DATASETS.register("digits", help=DigitsDataset.description)(DigitsDataset())
DATASETS.register("moons", help=MoonsDataset.description)(MoonsDataset())


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------


def _spec(name: str) -> Any:
    if name not in DATASETS:
        raise UsageError(
            f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS.names())}, or give "
            "the path of an image folder, a .csv/.parquet table or an .npz file"
        )
    return DATASETS.get(name)


def load_dataset(
    name: str, root: PathArg = None, *, download: bool = True, **options: Any
) -> DatasetBundle:
    """Load a dataset by name as uint8 image tensors (or float features) and int64 labels.

    Args:
        name: One of :func:`list_datasets` (case-insensitive), or the path of an image folder,
            a ``.csv``/``.parquet`` table or an ``.npz`` file (read by
            :func:`~noisylabels.data.userfiles.load_path`, whose options ``label_column``,
            ``image_size``, ``test_fraction``, ``seed`` and ``name`` apply).
        root: Folder searched before ``$NOISYLABELS_DATA``, the user cache and
            ``/usr/share/datasets``.
        download: Fetch the official files into the user cache when nothing is found.
        **options: Per-dataset options: ``cache`` (file datasets, default True: keep decoded
            arrays in the user cache); ``test_fraction``, ``seed`` (digits); ``n_train``,
            ``n_test``, ``noise``, ``seed`` (moons).

    Returns:
        The :class:`~noisylabels.data.base.DatasetBundle`.

    Raises:
        UsageError: Unknown dataset or option.
        DataError: Data missing (the message lists where it looked and how to provide them),
            corrupt or truncated files, checksum mismatch.

    Example:
        >>> ds = load_dataset("digits")
        >>> ds.x_train.shape, ds.x_train.dtype, ds.num_classes
        (torch.Size([1438, 1, 8, 8]), torch.uint8, 10)
    """
    if name not in DATASETS:
        from noisylabels.data import userfiles

        if userfiles.is_path(name):
            return userfiles.load_path(name, **options)
    return _spec(name)(root, download=download, **options)


def list_datasets() -> list[str]:
    """Names of all registered datasets, sorted."""
    return DATASETS.names()


def dataset_info(name: str, root: PathArg = None, **options: Any) -> DatasetInfo:
    """Whether and where a dataset is found and its sizes, reading file headers only.

    Never downloads and never decodes the images. Sizes of CIFAR python batches (which cannot be
    read without unpickling) are their official sizes. ``name`` may be a path (see
    :func:`~noisylabels.data.userfiles.load_path`; ``options`` are its options).
    """
    if name not in DATASETS:
        from noisylabels.data import userfiles

        if userfiles.is_path(name):
            return userfiles.path_info(name, **options)
    spec: Callable[..., Any] = _spec(name)
    info = getattr(spec, "info", None)
    if info is not None:
        return info(root)
    # A plain function registered from user code: its sizes are known only by calling it.
    from noisylabels.data.arrays import info_from_bundle

    ds = spec(root)
    if not isinstance(ds, DatasetBundle):
        raise UsageError(f"dataset {name!r}: its function returned a {type(ds).__name__}, "
                         "not a DatasetBundle (use noisylabels.data.from_arrays)")
    return info_from_bundle(ds, DATASETS.describe(name), "registered in Python")
